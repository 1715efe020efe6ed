#pragma once
// What every attention kernel of this directory and of ../xformers reads: the packed varlen batch of
// kernels/cuda/attention.h as one by-value kernel argument, plus the mask rules in the form the tiled
// kernels need (key_visible and visible_key_range come from attention.h; here: whether a whole tile is
// visible, so that only diagonal and window-edge tiles pay for a mask).
#include "kernels/cuda/attention.h"

namespace attn::cuda {

template <typename T>
struct AttentionKernelArgs {
    AttentionParams p;           // device q_offsets / kv_lens, mask, head counts
    const T* q = nullptr;        // [total_q][n_heads][head_dim]
    T* out = nullptr;            // same layout
    KvCacheView kv;              // elements of T
    int group = 0;               // query heads per kv head
    float scale_log2 = 0;        // scale * log2(e): softmax runs on exp2

    __host__ __device__ const T* keys() const { return static_cast<const T*>(kv.k); }
    __host__ __device__ const T* values() const { return static_cast<const T*>(kv.v); }
};

template <typename T>
AttentionKernelArgs<T> make_kernel_args(const AttentionParams& p, const T* q, const KvCacheView& kv, T* out) {
    AttentionKernelArgs<T> a;
    a.p = p;
    a.q = q;
    a.out = out;
    a.kv = kv;
    a.group = p.n_heads / p.n_kv_heads;
    a.scale_log2 = p.scale * 1.4426950408889634f;
    return a;
}

// key_visible() plus the end of the sequence (tiles run past it).
__device__ __forceinline__ bool key_in_sequence_visible(const AttentionParams& p, int query_pos, int key,
                                                        int kv_len) {
    return key < kv_len && key_visible(p, query_pos, key);
}

// True when every query in [first_pos, last_pos] sees every key in [key_begin, key_begin + keys).
__device__ __forceinline__ bool tile_fully_visible(const AttentionParams& p, int key_begin, int keys, int first_pos,
                                                   int last_pos, int kv_len) {
    const int key_last = key_begin + keys - 1;
    return key_last < kv_len && (!p.causal || key_last <= first_pos) && (p.window <= 0 || last_pos - key_begin < p.window);
}

}  // namespace attn::cuda
