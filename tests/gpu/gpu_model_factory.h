#pragma once
// The tiny golden models on the GPU as the GPU tests build them: a 128-token context, 64-token batches, and
// the settings a test varies.
#include <memory>
#include <vector>

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

// Every GPU backend built for this head size (tiny-llama-hd64 and tiny-mistral-hd128 bring flash and
// xformers in; the other tiny models run naive and sdp).
std::vector<AttentionBackend> gpu_backends(int head_dim);

}  // namespace attn::test
