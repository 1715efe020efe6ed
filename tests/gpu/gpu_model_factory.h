#pragma once
// The tiny golden models on the GPU as the GPU tests build them: a 128-token context, 64-token batches, and
// the settings a test varies.
#include <memory>

#include "src/cuda/cuda_model.h"
#include "tests/golden_model.h"

namespace attn::test {

struct GpuModelSettings {
    AttentionBackend backend = AttentionBackend::Naive;
    bool graphs = true;
    cuda::GpuDtype dtype = cuda::GpuDtype::F16;
    KvCacheOptions kv_cache;  // auto: the model's 16-bit type, contiguous
};

std::unique_ptr<Model> make_gpu_model(const GoldenModel& golden, const GpuModelSettings& settings);

}  // namespace attn::test
