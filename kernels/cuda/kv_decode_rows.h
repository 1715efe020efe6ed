#pragma once
// Decodes a range of KV-cache rows into plain matrices of T (fp16/bf16), for backends whose math cannot read the cache
// formats (sdp's cuBLAS GEMMs). Bounded by the caller's chunk: keys [first_key, first_key + keys) of one
// sequence for kv heads [first_kv_head, first_kv_head + kv_heads), written as [key][kv head][head_dim];
// q4 values are rotated back, so the output is in the model's basis.
#include <cuda_runtime.h>

#include "kernels/cuda/attention.h"

namespace attn::cuda {

constexpr int kDecodeRowsMaxHeadDim = 256;

// exact: the sequence's kv_exact_rows (attention.h). Throws attn::Error for a head_dim above
// kDecodeRowsMaxHeadDim.
template <typename T>
void decode_kv_rows(const KvCacheView& kv, int seq, const KvExactRows& exact, int first_key, int keys,
                    int first_kv_head, int kv_heads, int head_dim, T* k_out, T* v_out, cudaStream_t stream);

}  // namespace attn::cuda
