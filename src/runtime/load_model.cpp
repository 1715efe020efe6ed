#include "src/runtime/load_model.h"

#include <spdlog/spdlog.h>

#include "src/common/error.h"
#include "src/loader/safetensors.h"
#include "src/runtime/cpu_model.h"
#ifdef ATTN_HAS_CUDA
#include <cuda_runtime.h>

#include "src/cuda/cuda_model.h"
#include "src/cuda/device_allocator.h"
#endif

namespace attn {
namespace {

struct DeviceSpec {
    bool cuda = false;
    int index = 0;
};

int cuda_device_count() {
#ifdef ATTN_HAS_CUDA
    int count = 0;
    if (cudaGetDeviceCount(&count) != cudaSuccess) {
        (void)cudaGetLastError();
        return 0;
    }
    return count;
#else
    return 0;
#endif
}

DeviceSpec parse_device(const std::string& device) {
    if (device == "cpu") return {};
    if (device == "auto") {
        const bool gpu = cuda_device_count() > 0;
        spdlog::info("device auto: {}", gpu ? "CUDA GPU 0" : "no CUDA GPU found, using the CPU");
        return {gpu, 0};
    }
    if (device == "cuda" || device.rfind("cuda:", 0) == 0) {
        int index = 0;
        if (device.size() > 5) {
            try {
                index = std::stoi(device.substr(5));
            } catch (const std::exception&) {
                throw Error("cannot read the GPU index in --device " + device + " (write cuda:0, cuda:1, ...)");
            }
        }
#ifndef ATTN_HAS_CUDA
        throw Error("--device " + device + ": this build of attn-infer has no CUDA support (use --device cpu)");
#endif
        const int count = cuda_device_count();
        if (index < 0 || index >= count)
            throw Error("--device " + device + ": " + std::to_string(count) + " CUDA device(s) found (use --device cpu)");
        return {true, index};
    }
    throw Error("unknown device '" + device + "' (choose auto, cpu, cuda or cuda:N)");
}

}  // namespace

bool device_is_cuda(const std::string& device) {
    return parse_device(device).cuda;
}

std::unique_ptr<Model> load_model(const std::filesystem::path& model_dir, const LoadOptions& options) {
    const ModelConfig config = ModelConfig::load(model_dir);
    spdlog::info("model: {}", config.summary());
    const TensorStore store = TensorStore::open_dir(model_dir);
    const int context = options.context_size > 0 ? options.context_size : config.max_position_embeddings;
    const DeviceSpec device = parse_device(options.device);

    if (device.cuda) {
#ifdef ATTN_HAS_CUDA
        if (!options.gpu_mem_limit.empty())
            cuda::DeviceAllocator::instance().set_limit_bytes(cuda::parse_memory_size(options.gpu_mem_limit));
        cuda::CudaModelOptions gpu;
        gpu.device = device.index;
        gpu.context_size = context;
        gpu.max_batch_tokens = options.batch_tokens;
        gpu.backend = options.backend;
        gpu.kv_cache = {options.kv_cache, options.kv_paged, options.kv_block_tokens};
        gpu.use_graphs = options.cuda_graphs;
        gpu.weight_values = options.weight_values;
        gpu.dtype = cuda::parse_gpu_dtype(options.dtype);
        return cuda::make_cuda_model(config, store, gpu);
#endif
    }
    if (options.dtype != "auto")
        throw Error("--dtype " + options.dtype + " applies to the GPU; the CPU computes in fp32 (drop --dtype)");
    CpuModelOptions cpu;
    cpu.threads = options.threads;
    cpu.backend = options.backend;
    cpu.kv_cache = {options.kv_cache, options.kv_paged, options.kv_block_tokens};
    cpu.context_size = context;
    return std::make_unique<CpuModel>(config, store, cpu);
}

}  // namespace attn
