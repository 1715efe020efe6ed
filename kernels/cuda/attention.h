#pragma once
// GPU attention interface shared by every backend (naive, sdp, flash, xformers).
// Queries are packed varlen, as FlashAttention's varlen API: sequence b owns query rows
// [q_offsets[b], q_offsets[b+1]) of q/out ([total_q][n_heads][head_dim], fp16), and its query i sits at
// position kv_lens[b] - q_len(b) + i, i.e. queries are the newest tokens of the sequence (prefill: q_len =
// kv_len; decode: q_len = 1). Keys/values are read through KvCacheView so that the paged and quantized
// cache layouts are a change of view, not a copy of every kernel.
#include <cstddef>
#include <cstdint>

#include <cuda_fp16.h>
#include <cuda_runtime.h>

namespace attn::cuda {

// One layer of the KV cache for a batch of sequences. Contiguous fp16 layout:
// k[b * seq_stride + pos * token_stride + kv_head * head_dim + d].
struct KvCacheView {
    const __half* k = nullptr;
    const __half* v = nullptr;
    int64_t seq_stride = 0;    // elements between sequences
    int64_t token_stride = 0;  // elements between positions (n_kv_heads * head_dim when packed)
};

struct AttentionParams {
    int batch = 0;
    int n_heads = 0;
    int n_kv_heads = 0;        // query head h reads kv head h / (n_heads / n_kv_heads)
    int head_dim = 0;
    float scale = 0;           // usually 1/sqrt(head_dim)
    bool causal = true;
    int window = 0;            // 0: none; key j visible from position p only when p - j < window
    const int* q_offsets = nullptr;  // device, [batch + 1]
    const int* kv_lens = nullptr;    // device, [batch]
    int max_q_len = 0;         // host-side bounds, for grid sizes
    int max_kv_len = 0;
    int total_q = 0;
};

// Scratch memory a backend may need (sdp's score matrix, split-K partials). Backends report how many bytes
// they want for given params; the caller allocates once through the counting allocator.
struct Workspace {
    void* data = nullptr;
    size_t bytes = 0;
};

}  // namespace attn::cuda
