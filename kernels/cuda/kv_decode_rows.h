#pragma once
// Decodes a range of KV-cache rows into plain fp16 matrices, for backends whose math cannot read the cache
// formats (sdp's cuBLAS GEMMs). Bounded by the caller's chunk: keys [first_key, first_key + keys) of one
// sequence for kv heads [first_kv_head, first_kv_head + kv_heads), written as [key][kv head][head_dim];
// q4 values are rotated back, so the output is in the model's basis.
#include <cuda_fp16.h>
#include <cuda_runtime.h>

#include "kernels/cuda/attention.h"

namespace attn::cuda {

constexpr int kDecodeRowsMaxHeadDim = 256;

// kv_len: the sequence's length (which q4 keys are still pending). Throws attn::Error for a head_dim above
// kDecodeRowsMaxHeadDim.
void decode_kv_rows(const KvCacheView& kv, int seq, int kv_len, int first_key, int keys, int first_kv_head,
                    int kv_heads, int head_dim, __half* k_out, __half* v_out, cudaStream_t stream);

}  // namespace attn::cuda
