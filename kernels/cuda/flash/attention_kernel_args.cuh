#pragma once
// What every attention kernel of this directory and of ../xformers reads: the packed varlen batch of
// kernels/cuda/attention.h as one by-value kernel argument, plus the mask rules in the form the tiled
// kernels need (key_visible and visible_key_range come from attention.h; here: whether a whole tile is
// visible, so that only diagonal and window-edge tiles pay for a mask, and a row's mask as a key range).
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

// The keys one query position sees, counted from a lane's first key: key lane_key + c is hidden exactly when
// key_visible() is false for it or it lies past the sequence's end (tiles run past it); with c a constant
// after unrolling, hides(c) is two compares.
struct RowKeyMask {
    int begin, end;  // the visible keys [begin, end), less lane_key
    __device__ __forceinline__ RowKeyMask(const AttentionParams& p, int query_pos, int kv_len, int lane_key) {
        const KeyRange keys = visible_key_range(p, query_pos, query_pos, kv_len);
        begin = keys.begin - lane_key;
        end = min(keys.end, kv_len) - lane_key;
    }
    __device__ __forceinline__ bool hides(int c) const { return c < begin || c >= end; }
};

// True when every query in [first_pos, last_pos] sees every key in [key_begin, key_begin + keys).
__device__ __forceinline__ bool tile_fully_visible(const AttentionParams& p, int key_begin, int keys, int first_pos,
                                                   int last_pos, int kv_len) {
    const int key_last = key_begin + keys - 1;
    return key_last < kv_len && (!p.causal || key_last <= first_pos) && (p.window <= 0 || last_pos - key_begin < p.window);
}

}  // namespace attn::cuda
