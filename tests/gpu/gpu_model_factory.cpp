#include "tests/gpu/gpu_model_factory.h"

#include "src/cuda/gpu_backend_choice.h"

namespace attn::test {

std::unique_ptr<Model> make_gpu_model(const GoldenModel& golden, const GpuModelSettings& settings) {
    cuda::CudaModelOptions options;
    options.backend = settings.backend;
    options.context_size = 128;
    options.max_batch_tokens = 64;
    options.use_graphs = settings.graphs;
    options.dtype = settings.dtype;
    options.kv_cache = settings.kv_cache;
    return cuda::make_cuda_model(ModelConfig::load(golden.dir), TensorStore::open_dir(golden.dir), options);
}

std::vector<AttentionBackend> gpu_backends(int head_dim) {
    std::vector<AttentionBackend> backends;
    for (auto b : {AttentionBackend::Naive, AttentionBackend::Sdp, AttentionBackend::Flash, AttentionBackend::Xformers}) {
        try {
            cuda::choose_gpu_backends(b, 90, head_dim);
            backends.push_back(b);
        } catch (const Error&) {
        }
    }
    return backends;
}

}  // namespace attn::test
