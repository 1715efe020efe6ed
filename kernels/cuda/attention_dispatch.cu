#include "kernels/cuda/attention_dispatch.h"

#include <string>

#include "kernels/cuda/attention_naive.h"
#include "kernels/cuda/attention_sdp.h"
#include "kernels/cuda/flash/attention_flash.h"
#include "kernels/cuda/xformers/attention_xformers.h"

namespace attn::cuda {
namespace {

[[noreturn]] void throw_unresolved_auto() {
    throw Error("internal error: attention backend 'auto' must be resolved before it reaches the GPU dispatcher");
}

}  // namespace

template <typename T>
void run_attention(AttentionBackend backend, const AttentionParams& params, const T* q, const KvCacheView& kv, T* out,
                   const Workspace& workspace, cublasHandle_t cublas, cudaStream_t stream) {
    switch (backend) {
        case AttentionBackend::Naive: return attention_naive(params, q, kv, out, workspace, stream);
        case AttentionBackend::Sdp: return attention_sdp(params, q, kv, out, workspace, cublas, stream);
        case AttentionBackend::Flash: return attention_flash(params, q, kv, out, workspace, stream);
        case AttentionBackend::Xformers: return attention_xformers(params, q, kv, out, workspace, stream);
        case AttentionBackend::Auto: break;
    }
    throw_unresolved_auto();
}

template void run_attention(AttentionBackend, const AttentionParams&, const __half*, const KvCacheView&, __half*,
                            const Workspace&, cublasHandle_t, cudaStream_t);
template void run_attention(AttentionBackend, const AttentionParams&, const __nv_bfloat16*, const KvCacheView&,
                            __nv_bfloat16*, const Workspace&, cublasHandle_t, cudaStream_t);

size_t attention_workspace_bytes(AttentionBackend backend, const AttentionParams& params, size_t sdp_cap_bytes) {
    switch (backend) {
        case AttentionBackend::Naive: return attention_naive_workspace_bytes(params);
        case AttentionBackend::Sdp: return attention_sdp_workspace_bytes(params, sdp_cap_bytes);
        case AttentionBackend::Flash: return attention_flash_workspace_bytes(params);
        case AttentionBackend::Xformers: return attention_xformers_workspace_bytes(params);
        case AttentionBackend::Auto: break;
    }
    throw_unresolved_auto();
}

}  // namespace attn::cuda
