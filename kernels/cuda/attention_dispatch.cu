#include "kernels/cuda/attention_dispatch.h"

#include <string>

#include "kernels/cuda/attention_naive.h"
#include "kernels/cuda/attention_sdp.h"

namespace attn::cuda {
namespace {

[[noreturn]] void throw_unavailable(AttentionBackend backend) {
    if (backend == AttentionBackend::Auto)
        throw Error("internal error: attention backend 'auto' must be resolved before it reaches the GPU dispatcher");
    throw Error(std::string("--attn-backend ") + attention_backend_name(backend) +
                " is not built yet; use sdp or naive");
}

}  // namespace

void run_attention(AttentionBackend backend, const AttentionParams& params, const __half* q, const KvCacheView& kv,
                   __half* out, const Workspace& workspace, cublasHandle_t cublas, cudaStream_t stream) {
    switch (backend) {
        case AttentionBackend::Naive: return attention_naive(params, q, kv, out, workspace, stream);
        case AttentionBackend::Sdp: return attention_sdp(params, q, kv, out, workspace, cublas, stream);
        case AttentionBackend::Flash: throw_unavailable(backend);
        case AttentionBackend::Xformers: throw_unavailable(backend);
        case AttentionBackend::Auto: throw_unavailable(backend);
    }
    throw_unavailable(backend);
}

size_t attention_workspace_bytes(AttentionBackend backend, const AttentionParams& params, size_t sdp_cap_bytes) {
    switch (backend) {
        case AttentionBackend::Naive: return attention_naive_workspace_bytes(params);
        case AttentionBackend::Sdp: return attention_sdp_workspace_bytes(params, sdp_cap_bytes);
        case AttentionBackend::Flash: throw_unavailable(backend);
        case AttentionBackend::Xformers: throw_unavailable(backend);
        case AttentionBackend::Auto: throw_unavailable(backend);
    }
    throw_unavailable(backend);
}

}  // namespace attn::cuda
