#include "src/cli/settings.h"

#include <cstdlib>
#include <fstream>

#include "src/common/error.h"

namespace attn {
namespace {

nlohmann::json read_preset(const std::string& path) {
    std::ifstream in(path);
    if (!in) throw Error("cannot open config file " + path);
    try {
        nlohmann::json preset = nlohmann::json::parse(in);
        if (!preset.is_object()) throw Error("config file " + path + " must hold a JSON object");
        return preset;
    } catch (const nlohmann::json::exception& e) {
        throw Error("config file " + path + " is not valid JSON (" + e.what() + ")");
    }
}

std::string json_pointer(const std::string& key) {
    std::string pointer = "/" + key;
    for (char& ch : pointer)
        if (ch == '.') ch = '/';
    return pointer;
}

std::string scalar_to_string(const nlohmann::json& value) {
    if (value.is_string()) return value.get<std::string>();
    if (value.is_boolean()) return value.get<bool>() ? "true" : "false";
    return value.dump();
}

}  // namespace

Settings::Settings(CLI::App& app, std::vector<SettingSpec> specs) : specs_(std::move(specs)) {
    for (const auto& spec : specs_) {
        std::string help = spec.help;
        if (!spec.env.empty()) help += " [env " + spec.env + "]";
        if (!spec.default_value.empty()) help += " (default " + spec.default_value + ")";
        options_[spec.key] = app.add_option(spec.flags, raw_[spec.key], help);
    }
}

void Settings::resolve() {
    nlohmann::json preset = nlohmann::json::object();
    std::string preset_path;
    if (options_.count("config") && options_["config"]->count() > 0) {
        preset_path = raw_["config"];
        preset = read_preset(preset_path);
    }
    for (const auto& spec : specs_) {
        ResolvedSetting& out = resolved_[spec.key];
        const char* env = spec.env.empty() ? nullptr : std::getenv(spec.env.c_str());
        const auto pointer = nlohmann::json::json_pointer(json_pointer(spec.key));
        if (options_[spec.key]->count() > 0) {
            out = {raw_[spec.key], options_[spec.key]->get_name()};
        } else if (env && *env) {
            out = {env, "$" + spec.env};
        } else if (preset.contains(pointer) && !preset[pointer].is_object()) {
            out = {scalar_to_string(preset[pointer]), "config " + preset_path};
        } else {
            out = {spec.default_value, "default"};
        }
    }
}

const ResolvedSetting& Settings::get(const std::string& key) const {
    auto it = resolved_.find(key);
    ATTN_ASSERT(it != resolved_.end());
    return it->second;
}

int Settings::integer(const std::string& key) const {
    const auto& s = get(key);
    try {
        size_t used = 0;
        const int value = std::stoi(s.value, &used);
        if (used == s.value.size()) return value;
    } catch (const std::exception&) {
    }
    throw Error(key + " must be an integer, got '" + s.value + "' (from " + s.source + ")");
}

float Settings::real(const std::string& key) const {
    const auto& s = get(key);
    try {
        size_t used = 0;
        const float value = std::stof(s.value, &used);
        if (used == s.value.size()) return value;
    } catch (const std::exception&) {
    }
    throw Error(key + " must be a number, got '" + s.value + "' (from " + s.source + ")");
}

bool Settings::flag(const std::string& key) const {
    const auto& s = get(key);
    if (s.value == "true" || s.value == "1" || s.value == "on") return true;
    if (s.value == "false" || s.value == "0" || s.value == "off" || s.value.empty()) return false;
    throw Error(key + " must be true or false, got '" + s.value + "' (from " + s.source + ")");
}

nlohmann::json Settings::to_json() const {
    nlohmann::json out = nlohmann::json::object();
    for (const auto& [key, setting] : resolved_) out[key] = {{"value", setting.value}, {"source", setting.source}};
    return out;
}

std::vector<SettingSpec> cli_setting_specs() {
    return {
        {"config", "--config", "ATTN_INFER_CONFIG", "", "JSON preset file (see configs/)"},
        {"device", "--device", "ATTN_INFER_DEVICE", "auto", "auto, cpu, cuda or cuda:N"},
        {"dtype", "--dtype", "ATTN_INFER_DTYPE", "auto", "GPU weights/activations: auto (bf16 for bf16 checkpoints on sm_80+, else fp16), fp16, bf16"},
        {"attn_backend", "--attn-backend", "ATTN_INFER_ATTN_BACKEND", "auto", "auto, flash, xformers, sdp or naive"},
        {"kv_cache.dtype", "--kv-cache", "ATTN_INFER_KV_CACHE", "auto", "KV cache type: auto, f32, fp16, q8, q4"},
        {"kv_cache.paged", "--paged", "ATTN_INFER_KV_PAGED", "false", "paged KV cache: blocks from a pool"},
        {"kv_cache.block_size", "--block-size", "ATTN_INFER_KV_BLOCK_SIZE", "16", "tokens per KV cache block when paged"},
        {"ctx_size", "-c,--ctx-size", "ATTN_INFER_CTX_SIZE", "4096", "context size in tokens (0 = the model's maximum)"},
        {"n_predict", "-n,--n-predict", "ATTN_INFER_N_PREDICT", "128", "tokens to generate (-1 = until EOS)"},
        {"threads", "-t,--threads", "ATTN_INFER_THREADS", "0", "CPU threads (0 = all)"},
        {"batch_size", "-b,--batch-size", "ATTN_INFER_BATCH_SIZE", "512", "prompt tokens per forward pass"},
        {"gpu_mem_limit", "--gpu-mem-limit", "ATTN_INFER_GPU_MEM_LIMIT", "", "cap on GPU memory, e.g. 11GiB"},
        {"cuda_graphs", "--cuda-graphs", "ATTN_INFER_CUDA_GRAPHS", "true", "replay decode steps as CUDA graphs"},
        {"sampling.seed", "-s,--seed", "ATTN_INFER_SEED", "0", "random seed"},
        {"sampling.temperature", "--temp", "ATTN_INFER_TEMP", "0.8", "temperature (0 = greedy)"},
        {"sampling.top_k", "--top-k", "ATTN_INFER_TOP_K", "40", "top-k (0 = off)"},
        {"sampling.top_p", "--top-p", "ATTN_INFER_TOP_P", "0.95", "top-p (1 = off)"},
        {"sampling.min_p", "--min-p", "ATTN_INFER_MIN_P", "0.05", "min-p (0 = off)"},
        {"sampling.repeat_penalty", "--repeat-penalty", "ATTN_INFER_REPEAT_PENALTY", "1.0", "repetition penalty (1 = off)"},
        {"sampling.repeat_last_n", "--repeat-last-n", "ATTN_INFER_REPEAT_LAST_N", "64", "tokens the penalty looks back"},
    };
}

}  // namespace attn
