#pragma once
// The model description read from a Hugging Face config.json: shapes, normalisation, RoPE scaling and
// which layers use a sliding window. Architecture-specific defaults come from models/architecture.h.
#include <filesystem>
#include <string>
#include <vector>

#include <nlohmann/json_fwd.hpp>

namespace attn {

enum class RopeScaling { None, Linear, Llama3, Yarn };

struct RopeConfig {
    RopeScaling scaling = RopeScaling::None;
    double theta = 10000.0;
    double factor = 1.0;
    // llama3
    double low_freq_factor = 1.0;
    double high_freq_factor = 4.0;
    // llama3 and yarn
    int original_max_position_embeddings = 0;
    // yarn
    double beta_fast = 32.0;
    double beta_slow = 1.0;
    double attention_factor = 1.0;  // multiplies cos and sin (yarn's mscale); 1 for the other types
    bool truncate = true;
};

const char* rope_scaling_name(RopeScaling scaling);

struct ModelConfig {
    std::string model_type;
    int hidden_size = 0;
    int n_layers = 0;
    int n_heads = 0;
    int n_kv_heads = 0;
    int head_dim = 0;
    int intermediate_size = 0;
    int vocab_size = 0;
    int max_position_embeddings = 0;
    float rms_norm_eps = 1e-6f;
    RopeConfig rope;
    bool tie_word_embeddings = false;
    bool qkv_bias = false;  // q/k/v projections carry a bias (qwen2; llama's attention_bias)
    bool o_bias = false;    // llama's attention_bias also adds one to o_proj
    bool qk_norm = false;   // per-head RMSNorm of q and k before RoPE (qwen3)
    // Per layer: 0 for full causal attention, else the sliding window in tokens (key j is visible to
    // query i when i - window < j <= i, as transformers' sliding_window_overlay).
    std::vector<int> layer_window;

    int q_dim() const { return n_heads * head_dim; }
    int kv_dim() const { return n_kv_heads * head_dim; }
    std::string summary() const;

    static ModelConfig from_json(const nlohmann::json& json, const std::string& source);
    static ModelConfig load(const std::filesystem::path& model_dir);
};

}  // namespace attn
