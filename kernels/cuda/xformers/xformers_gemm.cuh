#pragma once
// The two block-wide products of the xformers kernel, S = Q K^T into shared memory and O = O*alpha + P V
// from it, each for SIMT (every thread a 4-row sub-tile, fp32 FMAs) and tensor cores (warps arranged 2x2
// over the tile, mma via the wrappers of ../flash/mma.cuh). The softmax between them is the same for both.
#include <cstdint>

#include "kernels/cuda/element_type.cuh"
#include "kernels/cuda/flash/flash_warp_math.cuh"
#include "kernels/cuda/flash/mma.cuh"

namespace attn::cuda::xformers {

// SIMT thread layout: 16 threads per 4 rows. Thread (row block tid/16, column lane tid%16) owns rows
// 4*(tid/16)..+3 and, in S, keys tid%16 + 16j; in O, columns tid%16 + 16k (o[k][row]). Reading K/Q as 16-byte rows
// keeps the 8 threads of each shared-memory phase on different banks (row stride HeadDim + 8 halves).
template <typename T, int HeadDim, int BlockN, int RowStride, int SStride>
__device__ __forceinline__ void scores_simt(float* s_smem, const T* q_smem, const T* k_smem) {
    constexpr int kKeys = BlockN / 16;
    const int rb = threadIdx.x / 16, cb = threadIdx.x % 16;
    float acc[4][kKeys] = {};
    for (int d = 0; d < HeadDim; d += 8) {
        float q[4][8], k[kKeys][8];
#pragma unroll
        for (int i = 0; i < 4; ++i) unpack8<T>(*reinterpret_cast<const uint4*>(q_smem + (rb * 4 + i) * RowStride + d), q[i]);
#pragma unroll
        for (int j = 0; j < kKeys; ++j) unpack8<T>(*reinterpret_cast<const uint4*>(k_smem + (cb + 16 * j) * RowStride + d), k[j]);
#pragma unroll
        for (int i = 0; i < 4; ++i)
#pragma unroll
            for (int j = 0; j < kKeys; ++j)
#pragma unroll
                for (int e = 0; e < 8; ++e) acc[i][j] = fmaf(q[i][e], k[j][e], acc[i][j]);
    }
#pragma unroll
    for (int i = 0; i < 4; ++i)
#pragma unroll
        for (int j = 0; j < kKeys; ++j) s_smem[(rb * 4 + i) * SStride + cb + 16 * j] = acc[i][j];
}

template <typename T, int HeadDim, int BlockN, int RowStride, int SStride>
__device__ __forceinline__ void accumulate_pv_simt(float (&o)[HeadDim / 16][4], const float* p_smem,
                                                   const float* row_alpha, const T* v_smem) {
    const int rb = threadIdx.x / 16, cb = threadIdx.x % 16;
#pragma unroll
    for (int i = 0; i < 4; ++i) {
        const float alpha = row_alpha[rb * 4 + i];
#pragma unroll
        for (int k = 0; k < HeadDim / 16; ++k) o[k][i] *= alpha;
    }
#pragma unroll 2
    for (int key = 0; key < BlockN; ++key) {
        float p[4];
#pragma unroll
        for (int i = 0; i < 4; ++i) p[i] = p_smem[(rb * 4 + i) * SStride + key];
        const T* v = v_smem + key * RowStride + cb;
#pragma unroll
        for (int k = 0; k < HeadDim / 16; ++k) {
            const float vv = to_float(v[16 * k]);
#pragma unroll
            for (int i = 0; i < 4; ++i) o[k][i] = fmaf(p[i], vv, o[k][i]);
        }
    }
}

// Tensor cores: warp w computes rows 16*(w%2)..+15 and, in S, keys (BlockN/2)*(w/2)..; in O, columns
// (HeadDim/2)*(w/2).. (HeadDim/16 tiles of 8, an odd count for head_dim 80).
template <KernelPath Path, typename T, int HeadDim, int BlockN, int RowStride, int SStride>
__device__ __forceinline__ void scores_tensor_core(float* s_smem, const T* q_smem, const T* k_smem) {
    constexpr int kKeyTiles = BlockN / 16;
    const int warp = threadIdx.x / 32, lane = threadIdx.x % 32, g = lane / 4, t = lane % 4;
    const int row0 = (warp % 2) * 16, key0 = (warp / 2) * (BlockN / 2);
    uint32_t qf[HeadDim / 16][4];
    load_q_fragments<HeadDim, RowStride>(qf, q_smem + row0 * RowStride, lane);
    float s[kKeyTiles][4];
    attn::cuda::scores_tensor_core<Path, T, HeadDim, kKeyTiles, RowStride>(s, qf, k_smem + key0 * RowStride, lane);
#pragma unroll
    for (int n = 0; n < kKeyTiles; ++n) {
        float* s_row = s_smem + (row0 + g) * SStride + key0 + n * 8 + 2 * t;
        *reinterpret_cast<float2*>(s_row) = make_float2(s[n][0], s[n][1]);
        *reinterpret_cast<float2*>(s_row + 8 * SStride) = make_float2(s[n][2], s[n][3]);
    }
}

template <KernelPath Path, typename T, int HeadDim, int BlockN, int RowStride, int SStride>
__device__ __forceinline__ void accumulate_pv_tensor_core(float (&o)[HeadDim / 16][4], const float* p_smem,
                                                          const float* row_alpha, const T* v_smem) {
    constexpr int kTiles = HeadDim / 16;  // of 8 columns: half the head
    const int warp = threadIdx.x / 32, lane = threadIdx.x % 32, g = lane / 4, t = lane % 4;
    const int row0 = (warp % 2) * 16, col0 = (warp / 2) * (HeadDim / 2);
    const float alpha_low = row_alpha[row0 + g], alpha_high = row_alpha[row0 + g + 8];
#pragma unroll
    for (int n = 0; n < kTiles; ++n) {
        o[n][0] *= alpha_low;
        o[n][1] *= alpha_low;
        o[n][2] *= alpha_high;
        o[n][3] *= alpha_high;
    }
    const T* v_row = v_smem + (((lane >> 3) & 1) * 8 + (lane & 7)) * RowStride + col0 + (lane >> 4) * 8;
#pragma unroll
    for (int kk = 0; kk < BlockN / 16; ++kk) {
        const float* p = p_smem + (row0 + g) * SStride + kk * 16 + 2 * t;
        const float2 p00 = *reinterpret_cast<const float2*>(p), p10 = *reinterpret_cast<const float2*>(p + 8 * SStride);
        const float2 p01 = *reinterpret_cast<const float2*>(p + 8);
        const float2 p11 = *reinterpret_cast<const float2*>(p + 8 * SStride + 8);
        const uint32_t a[4] = {pack_pair<T>(p00.x, p00.y), pack_pair<T>(p10.x, p10.y),
                               pack_pair<T>(p01.x, p01.y), pack_pair<T>(p11.x, p11.y)};
        const T* v = v_row + kk * 16 * RowStride;
#pragma unroll
        for (int n = 0; n + 1 < kTiles; n += 2) {
            uint32_t b[4];
            mma::ldmatrix_x4<true>(b, v + n * 8);
            mma::mma_m16n8k16<Path, T>(o[n], a, {b[0], b[1]});
            mma::mma_m16n8k16<Path, T>(o[n + 1], a, {b[2], b[3]});
        }
        if constexpr (kTiles % 2 == 1) {
            uint32_t b[2];
            mma::ldmatrix_x2<true>(b, v + (kTiles - 1) * 8);
            mma::mma_m16n8k16<Path, T>(o[kTiles - 1], a, b);
        }
    }
}

}  // namespace attn::cuda::xformers
