#include "models/architecture.h"

#include "src/common/error.h"

namespace attn {
namespace {

const Architecture kArchitectures[] = {
    {"llama", false, true, false, WindowRule::None, 0},
    {"mistral", false, false, false, WindowRule::AllLayers, 0},
    {"qwen2", true, false, false, WindowRule::FromMaxWindowLayer, 0},
    {"qwen3", false, true, true, WindowRule::FromMaxWindowLayer, 128},  // transformers' Qwen3Config default
};

}  // namespace

std::vector<std::string> supported_model_types() {
    std::vector<std::string> names;
    for (const auto& arch : kArchitectures) names.push_back(arch.model_type);
    return names;
}

const Architecture& find_architecture(const std::string& model_type) {
    for (const auto& arch : kArchitectures)
        if (model_type == arch.model_type) return arch;
    std::string list;
    for (const auto& name : supported_model_types()) list += (list.empty() ? "" : ", ") + name;
    throw Error("unsupported model_type '" + model_type + "' (supported: " + list + ")");
}

std::string layer_tensor(int layer, const char* suffix) {
    return "model.layers." + std::to_string(layer) + "." + suffix;
}

}  // namespace attn
