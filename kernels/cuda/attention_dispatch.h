#pragma once
// Runs the GPU attention backend the runtime chose (auto already resolved) behind one call, so that the
// model code never names a backend's own function or workspace rule.
#include <cstddef>

#include <cublas_v2.h>

#include "kernels/cuda/attention.h"
#include "src/runtime/attention_backend.h"

namespace attn::cuda {

// sdp's score chunks stay under this unless the caller asks for another cap.
constexpr size_t kDefaultSdpWorkspaceCapBytes = size_t(256) << 20;

// `cublas` is used by sdp only. T: __half, or __nv_bfloat16 on the sm80 kernel path. Throws attn::Error for
// auto and for backends not built yet.
template <typename T>
void run_attention(AttentionBackend backend, const AttentionParams& params, const T* q, const KvCacheView& kv, T* out,
                   const Workspace& workspace, cublasHandle_t cublas, cudaStream_t stream);

// Bytes of Workspace that run_attention needs for these params (allocate once for the largest batch).
size_t attention_workspace_bytes(AttentionBackend backend, const AttentionParams& params,
                                 size_t sdp_cap_bytes = kDefaultSdpWorkspaceCapBytes);

}  // namespace attn::cuda
