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
#pragma unroll
    for (int half = 0; half < 2; ++half) {
        const RowKeyMask mask(p, row_pos + 8 * half, kv_len, key0 + 2 * (lane & 3));
#pragma unroll
        for (int n = 0; n < KeyTiles; ++n)
#pragma unroll
            for (int e = 0; e < 2; ++e)
                if (mask.hides(8 * n + e)) s[n][2 * half + e] = -CUDART_INF_F;
    }
}

// How far (log2 units) a tile's max may pass a row's reference before the row is rescaled (FlashAttention-4's
// conditional rescale): weights stay at most 2^8, which fp16/bf16 P and the fp32 sums hold as exactly as
// weights below 1, and past a row's first tiles its max almost never rises that far. Rescaling whenever the
// max grew (FlashAttention-2) does so on most tiles of a short row, each time 4 x OutTiles multiplies on the
// way to the P·V products: measured on the H100, a 32k prefill with a 4096-key window ran 1% faster this way.
constexpr float kRescaleThreshold = 8.0f;

// A row's reference after a tile whose scores peak at row_max (raw scores, like m): it moves there only when
// that passes it by more than kRescaleThreshold, and alpha then rescales the row's sum and output (else 1).
// base = m · scale_log2, or 0 while the row has seen no key (keeping exp2 away from inf - inf).
struct RowReference {
    float m, base, alpha;
};
__device__ __forceinline__ RowReference next_reference(float m, float row_max, float scale_log2) {
    // True on a row's first visible keys (reference -inf); false while it has seen none (-inf - -inf is NaN).
    const bool rescale = (row_max - m) * scale_log2 > kRescaleThreshold;
    const float m_new = rescale ? row_max : m;
    const float base = m_new == -CUDART_INF_F ? 0.0f : m_new * scale_log2;
    return {m_new, base, rescale ? exp2_ftz(m * scale_log2 - base) : 1.0f};
}

// Folds one tile of scores into the running reference m (the row's max when it was last rescaled), partial
// sum l and output o; on return s holds the unnormalised probabilities exp2((s - m) * scale_log2).
template <int KeyTiles, int OutTiles>
__device__ __forceinline__ void online_softmax_step(float (&s)[KeyTiles][4], float (&m)[2], float (&l)[2],
                                                    float (&o)[OutTiles][4], float scale_log2) {
    float base[2], alpha[2];
#pragma unroll
    for (int half = 0; half < 2; ++half) {
        float tile_max = -CUDART_INF_F;
#pragma unroll
        for (int n = 0; n < KeyTiles; ++n) tile_max = fmaxf(tile_max, fmaxf(s[n][2 * half], s[n][2 * half + 1]));
        const RowReference next = next_reference(m[half], quad_max(tile_max), scale_log2);
        m[half] = next.m;
        base[half] = next.base;
        alpha[half] = next.alpha;
        l[half] *= alpha[half];
    }
    // The warp skips O's rescale (4 x OutTiles multiplies, as many as the tile's exp2s and sums together) when
    // none of its rows needs it.
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
