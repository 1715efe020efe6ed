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

// 2^x as the bare MUFU.EX2 (ex2.approx.ftz): exp2f's fix-up for subnormal results costs three more
// instructions per call, and a probability below 2^-126 of its row's max is 0 in fp16 P and in the sum anyway.
__device__ __forceinline__ float exp2_ftz(float x) {
    float y;
    asm("ex2.approx.ftz.f32 %0, %1;" : "=f"(y) : "f"(x));
    return y;
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
    float base[2], alpha[2];
#pragma unroll
    for (int half = 0; half < 2; ++half) {
        float tile_max = -CUDART_INF_F;
#pragma unroll
        for (int n = 0; n < KeyTiles; ++n) tile_max = fmaxf(tile_max, fmaxf(s[n][2 * half], s[n][2 * half + 1]));
        const float m_new = fmaxf(m[half], quad_max(tile_max));
        // A row that has seen only masked keys keeps m = -inf; 0 as its base keeps exp2 away from inf - inf.
        base[half] = m_new == -CUDART_INF_F ? 0.0f : m_new * scale_log2;
        alpha[half] = m_new == m[half] ? 1.0f : exp2_ftz(m[half] * scale_log2 - base[half]);
        m[half] = m_new;
        l[half] *= alpha[half];
    }
    // Past the first tiles a row's max rarely grows (alpha is then 1): the warp skips O's rescale (4 x OutTiles
    // multiplies, as many as the tile's exp2s and sums together) when none of its rows needs it.
    if (!__all_sync(0xffffffffu, alpha[0] == 1.0f && alpha[1] == 1.0f)) {
#pragma unroll
        for (int n = 0; n < OutTiles; ++n) {
            o[n][0] *= alpha[0];
            o[n][1] *= alpha[0];
            o[n][2] *= alpha[1];
            o[n][3] *= alpha[1];
        }
    }
#pragma unroll
    for (int half = 0; half < 2; ++half)
#pragma unroll
        for (int n = 0; n < KeyTiles; ++n)
#pragma unroll
            for (int e = 0; e < 2; ++e) {
                const float p = exp2_ftz(fmaf(s[n][2 * half + e], scale_log2, -base[half]));
                s[n][2 * half + e] = p;
                l[half] += p;
            }
}

}  // namespace attn::cuda
