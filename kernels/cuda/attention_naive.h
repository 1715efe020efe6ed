#pragma once
// The GPU reference attention: one thread block per (query row, head), fp32 softmax, no workspace.
// Every other GPU backend must agree with it; it is slow on purpose (plain loops, no tiling).
// Limits: head_dim 1..256 (larger: use sdp); any kv length, GQA/MQA, causal, sliding window.
#include <cstddef>

#include "kernels/cuda/attention.h"

namespace attn::cuda {

constexpr int kNaiveMaxHeadDim = 256;

// Throws attn::Error for a head_dim above kNaiveMaxHeadDim, naming sdp as the backend that can run it.
template <typename T>
void attention_naive(const AttentionParams& params, const T* q, const KvCacheView& kv, T* out,
                     const Workspace& workspace, cudaStream_t stream);

// Always 0: the kernel recomputes scores instead of storing them.
size_t attention_naive_workspace_bytes(const AttentionParams& params);

}  // namespace attn::cuda
