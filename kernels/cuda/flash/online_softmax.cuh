#pragma once
// Online softmax (Milakov & Gimelshein; FlashAttention-2's rescale-once form) on the scores of one warp's
// 16 query rows, held in the m16n8 accumulator layout: thread (g = lane/4, t = lane%4) holds rows g and g+8,
// columns 2t, 2t+1 of each 8-key tile. A row is spread over the 4 threads of a quad, so its max needs two
// shuffles; its sum is kept per thread and reduced once at the end. Scores stay raw: scale*log2(e) is folded
// into one FMA before exp2.
#include <cuda_runtime.h>

#include <math_constants.h>

#include "kernels/cuda/flash/attention_kernel_args.cuh"

namespace attn::cuda {

__device__ __forceinline__ float quad_max(float x) {
    x = fmaxf(x, __shfl_xor_sync(0xffffffffu, x, 1));
    return fmaxf(x, __shfl_xor_sync(0xffffffffu, x, 2));
}

__device__ __forceinline__ float quad_sum(float x) {
    x += __shfl_xor_sync(0xffffffffu, x, 1);
    return x + __shfl_xor_sync(0xffffffffu, x, 2);
}

// Scores the mask hides become -inf. row_pos: position of this thread's row g (row g+8 sits 8 later).
template <int KeyTiles>
__device__ __forceinline__ void mask_scores(float (&s)[KeyTiles][4], const AttentionParams& p, int key0,
                                            int row_pos, int kv_len, int lane) {
    const int t = lane & 3;
#pragma unroll
    for (int n = 0; n < KeyTiles; ++n)
#pragma unroll
        for (int i = 0; i < 4; ++i) {
            const int key = key0 + n * 8 + 2 * t + (i & 1);
            if (!key_in_sequence_visible(p, row_pos + (i >> 1) * 8, key, kv_len)) s[n][i] = -CUDART_INF_F;
        }
}

// Folds one tile of scores into the running max m, partial sum l and output o (rescaled when the max grows);
// on return s holds the unnormalised probabilities exp2((s - m) * scale_log2).
template <int KeyTiles, int OutTiles>
__device__ __forceinline__ void online_softmax_step(float (&s)[KeyTiles][4], float (&m)[2], float (&l)[2],
                                                    float (&o)[OutTiles][4], float scale_log2) {
#pragma unroll
    for (int half = 0; half < 2; ++half) {
        float tile_max = -CUDART_INF_F;
#pragma unroll
        for (int n = 0; n < KeyTiles; ++n) tile_max = fmaxf(tile_max, fmaxf(s[n][2 * half], s[n][2 * half + 1]));
        const float m_new = fmaxf(m[half], quad_max(tile_max));
        // A row that has seen only masked keys keeps m = -inf; 0 as its base keeps exp2 away from inf - inf.
        const float base = m_new == -CUDART_INF_F ? 0.0f : m_new * scale_log2;
        const float alpha = exp2f(m[half] * scale_log2 - base);
        m[half] = m_new;
        l[half] *= alpha;
#pragma unroll
        for (int n = 0; n < OutTiles; ++n) {
            o[n][2 * half] *= alpha;
            o[n][2 * half + 1] *= alpha;
        }
#pragma unroll
        for (int n = 0; n < KeyTiles; ++n)
#pragma unroll
            for (int e = 0; e < 2; ++e) {
                const float p = exp2f(fmaf(s[n][2 * half + e], scale_log2, -base));
                s[n][2 * half + e] = p;
                l[half] += p;
            }
    }
}

}  // namespace attn::cuda
