#include "tests/gpu/gpu_model_factory.h"

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

}  // namespace attn::test
