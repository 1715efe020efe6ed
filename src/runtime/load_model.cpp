#include "src/runtime/load_model.h"

#include <spdlog/spdlog.h>

#include "src/common/error.h"
#include "src/loader/safetensors.h"
#include "src/runtime/cpu_model.h"

namespace attn {

std::unique_ptr<Model> load_model(const std::filesystem::path& model_dir, const LoadOptions& options) {
    const ModelConfig config = ModelConfig::load(model_dir);
    spdlog::info("model: {}", config.summary());
    const TensorStore store = TensorStore::open_dir(model_dir);

    const std::string& device = options.device;
    if (device.rfind("cuda", 0) == 0)
        throw Error("--device " + device + ": this build of attn-infer has no CUDA support (use --device cpu)");
    if (device != "auto" && device != "cpu")
        throw Error("unknown device '" + device + "' (choose auto, cpu, cuda or cuda:N)");

    CpuModelOptions cpu;
    cpu.threads = options.threads;
    cpu.backend = options.backend;
    cpu.kv_cache = options.kv_cache;
    cpu.context_size = options.context_size > 0 ? options.context_size : config.max_position_embeddings;
    return std::make_unique<CpuModel>(config, store, cpu);
}

}  // namespace attn
