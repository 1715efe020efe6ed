#pragma once
// FlashAttention-2 backend: prefill by flash_prefill.cuh (tensor cores on sm75+, SIMT below), decode
// (one query per sequence) by split-K flash-decoding (flash_decode.cu).
#include <cstddef>

#include <cuda_runtime.h>

#include "kernels/cuda/attention.h"

namespace attn::cuda {

// Bytes of scratch attention_flash needs for these params (0 for prefill; split-K partials for decode).
size_t attention_flash_workspace_bytes(const AttentionParams& p);

// out[total_q][n_heads][head_dim] = softmax(q k^T * scale, masked) v. Throws attn::Error for shapes the
// kernels are not built for (head_dim outside 64/80/96/128/256, misaligned rows), naming a backend that can.
// T = __half, or __nv_bfloat16 on the sm80 kernel path.
template <typename T>
void attention_flash(const AttentionParams& p, const T* q, const KvCacheView& kv, T* out, const Workspace& workspace,
                     cudaStream_t stream);

}  // namespace attn::cuda
