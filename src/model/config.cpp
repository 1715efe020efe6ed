#include "src/model/config.h"

#include <algorithm>
#include <cmath>
#include <fstream>
#include <sstream>

#include <nlohmann/json.hpp>

#include "models/architecture.h"
#include "src/common/error.h"

namespace attn {
namespace {

using nlohmann::json;

int required_positive_int(const json& j, const char* key, const std::string& source) {
    if (!j.contains(key) || !j[key].is_number_integer() || j[key].get<long long>() <= 0)
        throw Error(source + ": '" + key + "' must be a positive integer");
    return j[key].get<int>();
}

template <typename T>
T value_or(const json& j, const char* key, T fallback) {
    if (!j.contains(key) || j[key].is_null()) return fallback;
    return j[key].get<T>();
}

// yarn's attention_factor when the config does not give one (transformers' _compute_yarn_parameters).
double yarn_default_attention_factor(double factor, const json& params) {
    auto mscale_of = [](double scale, double mscale) {
        return scale <= 1 ? 1.0 : 0.1 * mscale * std::log(scale) + 1.0;
    };
    const double mscale = value_or(params, "mscale", 0.0);
    const double mscale_all_dim = value_or(params, "mscale_all_dim", 0.0);
    if (mscale != 0 && mscale_all_dim != 0) return mscale_of(factor, mscale) / mscale_of(factor, mscale_all_dim);
    return mscale_of(factor, 1.0);
}

// transformers 4.x writes rope_theta + rope_scaling; 5.x writes rope_parameters (with rope_theta inside).
RopeConfig parse_rope(const json& j, int max_positions, const std::string& source) {
    RopeConfig rope;
    json params = json::object();
    if (j.contains("rope_parameters") && j["rope_parameters"].is_object()) params = j["rope_parameters"];
    else if (j.contains("rope_scaling") && j["rope_scaling"].is_object()) params = j["rope_scaling"];
    rope.theta = value_or(params, "rope_theta", value_or(j, "rope_theta", 10000.0));

    std::string type = value_or<std::string>(params, "rope_type", value_or<std::string>(params, "type", "default"));
    if (type == "default") return rope;
    rope.factor = value_or(params, "factor", 1.0);
    rope.original_max_position_embeddings =
        value_or(params, "original_max_position_embeddings", value_or(j, "original_max_position_embeddings", max_positions));
    if (type == "linear") {
        rope.scaling = RopeScaling::Linear;
    } else if (type == "llama3") {
        rope.scaling = RopeScaling::Llama3;
        rope.low_freq_factor = value_or(params, "low_freq_factor", 1.0);
        rope.high_freq_factor = value_or(params, "high_freq_factor", 4.0);
    } else if (type == "yarn") {
        rope.scaling = RopeScaling::Yarn;
        rope.beta_fast = value_or(params, "beta_fast", 32.0);
        rope.beta_slow = value_or(params, "beta_slow", 1.0);
        rope.truncate = value_or(params, "truncate", true);
        rope.attention_factor = value_or(params, "attention_factor", yarn_default_attention_factor(rope.factor, params));
    } else {
        throw Error(source + ": unsupported rope scaling type '" + type + "' (supported: default, linear, llama3, yarn)");
    }
    if (!(rope.factor > 0)) throw Error(source + ": rope scaling factor must be positive");
    return rope;
}

std::vector<int> parse_layer_windows(const json& j, const Architecture& arch, int n_layers) {
    std::vector<int> windows(n_layers, 0);
    if (arch.window_rule == WindowRule::None) return windows;
    // Qwen2/Qwen3 ignore sliding_window unless use_sliding_window is set (hub configs carry one anyway).
    if (arch.window_rule == WindowRule::FromMaxWindowLayer && !value_or(j, "use_sliding_window", false)) return windows;
    // A Mistral config without the key gets transformers' class default of 4096; null means none.
    const int window = j.contains("sliding_window") ? value_or(j, "sliding_window", 0) : 4096;
    if (window <= 0) return windows;
    if (j.contains("layer_types") && j["layer_types"].is_array() && int(j["layer_types"].size()) == n_layers) {
        for (int i = 0; i < n_layers; ++i)
            if (j["layer_types"][i] == "sliding_attention") windows[i] = window;
        return windows;
    }
    if (arch.window_rule == WindowRule::AllLayers) return std::vector<int>(n_layers, window);
    const int first = value_or(j, "max_window_layers", n_layers);
    for (int i = first; i < n_layers; ++i) windows[i] = window;
    return windows;
}

}  // namespace

const char* rope_scaling_name(RopeScaling scaling) {
    switch (scaling) {
        case RopeScaling::None: return "none";
        case RopeScaling::Linear: return "linear";
        case RopeScaling::Llama3: return "llama3";
        case RopeScaling::Yarn: return "yarn";
    }
    return "?";
}

ModelConfig ModelConfig::from_json(const json& j, const std::string& source) {
    if (!j.is_object()) throw Error(source + ": expected a JSON object");
    ModelConfig c;
    c.model_type = value_or<std::string>(j, "model_type", "");
    if (c.model_type.empty()) throw Error(source + ": 'model_type' is missing");
    const Architecture& arch = find_architecture(c.model_type);

    c.hidden_size = required_positive_int(j, "hidden_size", source);
    c.n_layers = required_positive_int(j, "num_hidden_layers", source);
    c.n_heads = required_positive_int(j, "num_attention_heads", source);
    c.n_kv_heads = value_or(j, "num_key_value_heads", c.n_heads);
    c.intermediate_size = required_positive_int(j, "intermediate_size", source);
    c.vocab_size = required_positive_int(j, "vocab_size", source);
    c.max_position_embeddings = value_or(j, "max_position_embeddings", 2048);
    c.rms_norm_eps = value_or(j, "rms_norm_eps", 1e-6f);
    c.head_dim = value_or(j, "head_dim", arch.default_head_dim);
    if (c.head_dim <= 0) {
        if (c.hidden_size % c.n_heads != 0)
            throw Error(source + ": hidden_size is not a multiple of num_attention_heads and head_dim is absent");
        c.head_dim = c.hidden_size / c.n_heads;
    }
    if (c.n_kv_heads <= 0 || c.n_heads % c.n_kv_heads != 0)
        throw Error(source + ": num_attention_heads (" + std::to_string(c.n_heads) +
                    ") must be a multiple of num_key_value_heads (" + std::to_string(c.n_kv_heads) + ")");
    if (c.head_dim % 2 != 0) throw Error(source + ": head_dim must be even for RoPE");
    c.rope = parse_rope(j, c.max_position_embeddings, source);
    c.tie_word_embeddings = value_or(j, "tie_word_embeddings", false);
    const bool attention_bias = arch.attention_bias_field && value_or(j, "attention_bias", false);
    c.qkv_bias = arch.qkv_bias || attention_bias;
    c.o_bias = attention_bias;
    c.qk_norm = arch.qk_norm;
    if (value_or(j, "mlp_bias", false)) throw Error(source + ": mlp_bias=true is not supported");
    c.layer_window = parse_layer_windows(j, arch, c.n_layers);
    return c;
}

ModelConfig ModelConfig::load(const std::filesystem::path& model_dir) {
    const auto path = model_dir / "config.json";
    std::ifstream in(path);
    if (!in) throw Error("cannot open " + path.string() + " (is -m a Hugging Face model folder?)");
    json j;
    try {
        in >> j;
    } catch (const json::exception& e) {
        throw Error(path.string() + ": invalid JSON (" + e.what() + ")");
    }
    try {
        return from_json(j, path.string());
    } catch (const json::exception& e) {
        throw Error(path.string() + ": a field has the wrong type (" + e.what() + ")");
    }
}

std::string ModelConfig::summary() const {
    std::ostringstream s;
    s << model_type << ": " << n_layers << " layers, hidden " << hidden_size << ", heads " << n_heads << "/"
      << n_kv_heads << " (head_dim " << head_dim << "), ffn " << intermediate_size << ", vocab " << vocab_size
      << ", rope " << rope_scaling_name(rope.scaling) << " theta " << rope.theta;
    int windowed = 0;
    for (int w : layer_window) windowed += w > 0;
    if (windowed) s << ", sliding window " << *std::max_element(layer_window.begin(), layer_window.end()) << " in "
                    << windowed << "/" << n_layers << " layers";
    return s.str();
}

}  // namespace attn
