#pragma once
// Per-architecture knowledge: which model_type values we run and how each differs from Llama. All four
// share Llama's tensor names (model.layers.N.self_attn.q_proj.weight, ...) and block structure.
#include <string>
#include <vector>

namespace attn {

enum class WindowRule {
    None,              // full attention in every layer (llama)
    AllLayers,         // config.sliding_window applies to every layer when set (mistral)
    FromMaxWindowLayer,  // use_sliding_window: layers >= max_window_layers use it (qwen2, qwen3)
};

struct Architecture {
    const char* model_type;
    bool qkv_bias;               // q/k/v biases always present (qwen2)
    bool attention_bias_field;   // honours config.attention_bias (llama: q/k/v/o; qwen3: q/k/v/o)
    bool qk_norm;                // q_norm / k_norm tensors (qwen3)
    WindowRule window_rule;
    int default_head_dim;        // when config.json has no head_dim; 0: hidden_size / num_attention_heads
};

// Throws attn::Error listing the supported model types.
const Architecture& find_architecture(const std::string& model_type);
std::vector<std::string> supported_model_types();

// Names of the tensors of one decoder layer, as Hugging Face writes them.
std::string layer_tensor(int layer, const char* suffix);

}  // namespace attn
