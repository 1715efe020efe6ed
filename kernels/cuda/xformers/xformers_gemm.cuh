#pragma once
// The two block-wide products of the xformers kernel, S = Q K^T into shared memory and O = O*alpha + P V
// from it, each for SIMT (every thread a 4-row sub-tile, fp32 FMAs) and tensor cores (warps arranged 2x2
// over the tile, mma via the warp products of ../flash/flash_warp_math.cuh). The softmax between them is
// the same for both.
#include <cstdint>

#include "kernels/cuda/element_type.cuh"
#include "kernels/cuda/flash/flash_warp_math.cuh"
#include "kernels/cuda/flash/mma.cuh"

namespace attn::cuda::xformers {

// SIMT thread layout: 16 threads per 4 rows. Thread (row block tid/16, column lane tid%16) owns rows
// 4*(tid/16)..+3 and, in S, keys tid%16 + 16j; in O, columns tid%16 + 16k (o[k][row]). Reading K/Q as 16-byte rows
// keeps the 8 threads of each shared-memory phase on different banks (row stride HeadDim + 8 elements).
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

// Tensor cores: the warps tile the block 2 x 2. Warp w computes rows (BlockM/2)*(w%2).. (BlockM/32 m16
// tiles, so each K or V fragment it reads feeds that many MMAs) and, in S, keys (BlockN/2)*(w/2)..; in O,
// columns (HeadDim/2)*(w/2).. (HeadDim/16 tiles of 8, an odd count for head_dim 80).
template <int BlockM>
struct WarpQuadrant {
    static constexpr int kMTiles = BlockM / 32;
    int row0, n_half;  // first row; which half of the n dimension: keys in S, head columns in O
    __device__ __forceinline__ WarpQuadrant()
        : row0((threadIdx.x / 32 % 2) * (BlockM / 2)), n_half(threadIdx.x / 64) {}
};

template <KernelPath Path, typename T, int HeadDim, int BlockM, int BlockN, int RowStride, int SStride>
__device__ __forceinline__ void scores_tensor_core(float* s_smem, const T* q_smem, const T* k_smem) {
    using Quadrant = WarpQuadrant<BlockM>;
    constexpr int kMTiles = Quadrant::kMTiles, kKeyTiles = BlockN / 16;
    const Quadrant w;
    const int lane = threadIdx.x % 32, g = lane / 4, t = lane % 4;
    const int key0 = w.n_half * (BlockN / 2);
    const AFragmentsInShared<T, kMTiles, RowStride> qf(q_smem + w.row0 * RowStride, lane);
    float s[kMTiles][kKeyTiles][4];
    const T* k_rows = k_smem + key0 * RowStride;
    attn::cuda::scores_tensor_core<Path, T, HeadDim, kMTiles, kKeyTiles, RowStride>(s, qf, k_rows, lane);
#pragma unroll
    for (int mt = 0; mt < kMTiles; ++mt)
#pragma unroll
        for (int n = 0; n < kKeyTiles; ++n) {
            float* s_row = s_smem + (w.row0 + mt * 16 + g) * SStride + key0 + n * 8 + 2 * t;
            *reinterpret_cast<float2*>(s_row) = make_float2(s[mt][n][0], s[mt][n][1]);
            *reinterpret_cast<float2*>(s_row + 8 * SStride) = make_float2(s[mt][n][2], s[mt][n][3]);
        }
}

// P comes as rows of T written over the first half of each S row (see softmax_rows): ldmatrix reads it as A
// fragments directly.
template <KernelPath Path, typename T, int HeadDim, int BlockM, int BlockN, int RowStride, int SStride>
__device__ __forceinline__ void accumulate_pv_tensor_core(float (&o)[BlockM / 32][HeadDim / 16][4],
                                                          const T* p_smem, const float* row_alpha,
                                                          const T* v_smem) {
    using Quadrant = WarpQuadrant<BlockM>;
    constexpr int kMTiles = Quadrant::kMTiles, kTiles = HeadDim / 16;  // of 8 columns: half the head
    constexpr int kPStride = 2 * SStride;                                // in halves
    const Quadrant w;
    const int lane = threadIdx.x % 32, g = lane / 4;
    const int col0 = w.n_half * (HeadDim / 2);
    float alpha[kMTiles][2];
    bool rescale = false;
#pragma unroll
    for (int mt = 0; mt < kMTiles; ++mt) {
        alpha[mt][0] = row_alpha[w.row0 + mt * 16 + g];
        alpha[mt][1] = row_alpha[w.row0 + mt * 16 + g + 8];
        rescale = rescale || alpha[mt][0] != 1.0f || alpha[mt][1] != 1.0f;
    }
    // Past the first tiles a row's reference rarely moves (alpha is then 1): skip the rescale when no row of the
    // warp needs it.
    if (__any_sync(0xffffffffu, rescale)) {
#pragma unroll
        for (int mt = 0; mt < kMTiles; ++mt)
#pragma unroll
            for (int n = 0; n < kTiles; ++n) {
                o[mt][n][0] *= alpha[mt][0];
                o[mt][n][1] *= alpha[mt][0];
                o[mt][n][2] *= alpha[mt][1];
                o[mt][n][3] *= alpha[mt][1];
            }
    }
    const AFragmentsInShared<T, kMTiles, kPStride> pf(p_smem + w.row0 * kPStride, lane);
    const T* v_row = v_smem + (((lane >> 3) & 1) * 8 + (lane & 7)) * RowStride + col0 + (lane >> 4) * 8;
#pragma unroll
    for (int kk = 0; kk < BlockN / 16; ++kk) {
        uint32_t a[kMTiles][4];
        pf.slice(kk, a);
        const T* v = v_row + kk * 16 * RowStride;
#pragma unroll
        for (int n = 0; n + 1 < kTiles; n += 2) {
            uint32_t b[4];
            mma::ldmatrix_x4<true>(b, v + n * 8);
#pragma unroll
            for (int mt = 0; mt < kMTiles; ++mt) {
                mma::mma_m16n8k16<Path, T>(o[mt][n], a[mt], {b[0], b[1]});
                mma::mma_m16n8k16<Path, T>(o[mt][n + 1], a[mt], {b[2], b[3]});
            }
        }
        if constexpr (kTiles % 2 == 1) {
            uint32_t b[2];
            mma::ldmatrix_x2<true>(b, v + (kTiles - 1) * 8);
#pragma unroll
            for (int mt = 0; mt < kMTiles; ++mt) mma::mma_m16n8k16<Path, T>(o[mt][kTiles - 1], a[mt], b);
        }
    }
}

}  // namespace attn::cuda::xformers
