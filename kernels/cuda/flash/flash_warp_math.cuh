#pragma once
// The two matrix products of one warp's step, S = Q K^T and O += P V, on the warp's query rows (one m16
// tile, or several on tensor cores) and one K/V tile in shared memory, each in two implementations that
// produce the same m16n8 accumulator layout (see mma.cuh): tensor cores (ldmatrix + mma, sm80 or sm75 form)
// and SIMT fp32 FMAs on 16 rows. The kernel around them - tiling, masking, online softmax, epilogue - is
// the same for every path.
#include <cstdint>

#include "kernels/cuda/element_type.cuh"
#include "kernels/cuda/flash/mma.cuh"

namespace attn::cuda {

// The ldmatrix row address of this lane for the A fragment of a 16x16 block at q_rows: matrices 0..3 =
// (rows 0-7, cols 0-7), (rows 8-15, cols 0-7), (rows 0-7, cols 8-15), (rows 8-15, cols 8-15).
template <int RowStride, typename T>
__device__ __forceinline__ const T* a_fragment_row(const T* q_rows, int lane) {
    return q_rows + ((lane & 7) + ((lane >> 3) & 1) * 8) * RowStride + (lane >> 4) * 8;
}

// Q of a warp's MTiles x 16 rows as A fragments, read once and kept in registers: the choice when the
// registers are free, i.e. one m-tile per warp.
template <typename T, int HeadDim, int MTiles, int RowStride>
struct QFragmentsInRegisters {
    using Element = T;
    uint32_t f[HeadDim / 16][MTiles][4];

    __device__ __forceinline__ QFragmentsInRegisters(const T* q_rows, int lane) {
        const T* row = a_fragment_row<RowStride>(q_rows, lane);
#pragma unroll
        for (int kk = 0; kk < HeadDim / 16; ++kk)
#pragma unroll
            for (int mt = 0; mt < MTiles; ++mt)
                mma::ldmatrix_x4<false>(f[kk][mt], row + mt * 16 * RowStride + kk * 16);
    }
    // The fragments of head columns 16kk..16kk+15.
    __device__ __forceinline__ void slice(int kk, uint32_t (&a)[MTiles][4]) const {
#pragma unroll
        for (int mt = 0; mt < MTiles; ++mt)
#pragma unroll
            for (int i = 0; i < 4; ++i) a[mt][i] = f[kk][mt][i];
    }
};

// A fragments of a warp's MTiles x 16 rows of a row-major T matrix left in shared memory, read one
// 16-column slice at a time. For Q: with two m-tiles per warp, registers kept for Q would crowd out the
// output accumulators (as in FlashAttention-2). Also xformers' P.
template <typename T, int MTiles, int RowStride>
struct AFragmentsInShared {
    using Element = T;
    const T* row;

    __device__ __forceinline__ AFragmentsInShared(const T* rows, int lane)
        : row(a_fragment_row<RowStride>(rows, lane)) {}
    __device__ __forceinline__ void slice(int kk, uint32_t (&a)[MTiles][4]) const {
#pragma unroll
        for (int mt = 0; mt < MTiles; ++mt) mma::ldmatrix_x4<false>(a[mt], row + mt * 16 * RowStride + kk * 16);
    }
};

// S = Q K^T for a warp's MTiles m16 tiles of queries: every K fragment read from shared memory feeds MTiles
// pairs of MMAs. QFragments: one of the two types above.
template <KernelPath Path, typename T, int HeadDim, int MTiles, int KeyTiles, int RowStride, typename QFragments>
__device__ __forceinline__ void scores_tensor_core(float (&s)[MTiles][KeyTiles][4], const QFragments& q,
                                                   const T* k_tile, int lane) {
#pragma unroll
    for (int mt = 0; mt < MTiles; ++mt)
#pragma unroll
        for (int n = 0; n < KeyTiles; ++n) s[mt][n][0] = s[mt][n][1] = s[mt][n][2] = s[mt][n][3] = 0.0f;
    // K rows are keys, so non-transposed 8x8 blocks of K are B fragments: matrices 0..3 = (keys n, d 0-7),
    // (keys n, d 8-15), (keys n+1, d 0-7), (keys n+1, d 8-15) of each 16-wide d chunk.
    const T* row = k_tile + ((lane >> 4) * 8 + (lane & 7)) * RowStride + ((lane >> 3) & 1) * 8;
#pragma unroll
    for (int kk = 0; kk < HeadDim / 16; ++kk) {
        uint32_t a[MTiles][4];
        q.slice(kk, a);
#pragma unroll
        for (int n = 0; n < KeyTiles; n += 2) {
            uint32_t b[4];
            mma::ldmatrix_x4<false>(b, row + n * 8 * RowStride + kk * 16);
#pragma unroll
            for (int mt = 0; mt < MTiles; ++mt) {
                mma::mma_m16n8k16<Path, T>(s[mt][n], a[mt], {b[0], b[1]});
                mma::mma_m16n8k16<Path, T>(s[mt][n + 1], a[mt], {b[2], b[3]});
            }
        }
    }
}

// O += P V for a warp's MTiles m16 tiles; every V fragment feeds MTiles pairs of MMAs.
template <KernelPath Path, typename T, int HeadDim, int MTiles, int KeyTiles, int RowStride>
__device__ __forceinline__ void accumulate_pv_tensor_core(float (&o)[MTiles][HeadDim / 8][4],
                                                          const float (&p)[MTiles][KeyTiles][4], const T* v_tile,
                                                          int lane) {
    // V rows are keys, so transposed 8x8 blocks are B fragments: matrices 0..3 = (keys 0-7, d tile n),
    // (keys 8-15, d tile n), (keys 0-7, d tile n+1), (keys 8-15, d tile n+1) of each 16-key chunk.
    const T* row = v_tile + (((lane >> 3) & 1) * 8 + (lane & 7)) * RowStride + (lane >> 4) * 8;
#pragma unroll
    for (int kk = 0; kk < KeyTiles / 2; ++kk) {
        // Two accumulator tiles of P are exactly one A fragment: no trip through shared memory.
        uint32_t a[MTiles][4];
#pragma unroll
        for (int mt = 0; mt < MTiles; ++mt) {
            a[mt][0] = pack_pair<T>(p[mt][2 * kk][0], p[mt][2 * kk][1]);
            a[mt][1] = pack_pair<T>(p[mt][2 * kk][2], p[mt][2 * kk][3]);
            a[mt][2] = pack_pair<T>(p[mt][2 * kk + 1][0], p[mt][2 * kk + 1][1]);
            a[mt][3] = pack_pair<T>(p[mt][2 * kk + 1][2], p[mt][2 * kk + 1][3]);
        }
#pragma unroll
        for (int n = 0; n < HeadDim / 8; n += 2) {
            uint32_t b[4];
            mma::ldmatrix_x4<true>(b, row + kk * 16 * RowStride + n * 8);
#pragma unroll
            for (int mt = 0; mt < MTiles; ++mt) {
                mma::mma_m16n8k16<Path, T>(o[mt][n], a[mt], {b[0], b[1]});
                mma::mma_m16n8k16<Path, T>(o[mt][n + 1], a[mt], {b[2], b[3]});
            }
        }
    }
}

// SIMT: the thread computes its own accumulator elements, reading Q rows g, g+8 and K rows 2t, 2t+1 of each
// 8-key tile as element pairs (the row strides make both conflict-free).
template <typename T, int HeadDim, int KeyTiles, int RowStride>
__device__ __forceinline__ void scores_simt(float (&s)[KeyTiles][4], const T* q_rows, const T* k_tile,
                                            int lane) {
    const int g = lane >> 2, t = lane & 3;
#pragma unroll
    for (int n = 0; n < KeyTiles; ++n) s[n][0] = s[n][1] = s[n][2] = s[n][3] = 0.0f;
    const ElementPair<T>* q0 = reinterpret_cast<const ElementPair<T>*>(q_rows + g * RowStride);
    const ElementPair<T>* q1 = reinterpret_cast<const ElementPair<T>*>(q_rows + (g + 8) * RowStride);
    const ElementPair<T>* k = reinterpret_cast<const ElementPair<T>*>(k_tile + 2 * t * RowStride);
#pragma unroll 4
    for (int d2 = 0; d2 < HeadDim / 2; ++d2) {
        const float2 qa = to_float2(q0[d2]), qb = to_float2(q1[d2]);
#pragma unroll
        for (int n = 0; n < KeyTiles; ++n) {
            const float2 ka = to_float2(k[n * 4 * RowStride + d2]);
            const float2 kb = to_float2(k[n * 4 * RowStride + RowStride / 2 + d2]);
            s[n][0] = fmaf(qa.x, ka.x, fmaf(qa.y, ka.y, s[n][0]));
            s[n][1] = fmaf(qa.x, kb.x, fmaf(qa.y, kb.y, s[n][1]));
            s[n][2] = fmaf(qb.x, ka.x, fmaf(qb.y, ka.y, s[n][2]));
            s[n][3] = fmaf(qb.x, kb.x, fmaf(qb.y, kb.y, s[n][3]));
        }
    }
}

// SIMT: P goes through the warp's own slice of shared memory (16 rows x PStride floats) so that each thread
// can read whole rows g and g+8; P stays fp32.
template <typename T, int HeadDim, int KeyTiles, int RowStride, int PStride>
__device__ __forceinline__ void accumulate_pv_simt(float (&o)[HeadDim / 8][4], const float (&p)[KeyTiles][4],
                                                   const T* v_tile, float* p_warp, int lane) {
    const int g = lane >> 2, t = lane & 3;
#pragma unroll
    for (int n = 0; n < KeyTiles; ++n) {
        *reinterpret_cast<float2*>(p_warp + g * PStride + n * 8 + 2 * t) = make_float2(p[n][0], p[n][1]);
        *reinterpret_cast<float2*>(p_warp + (g + 8) * PStride + n * 8 + 2 * t) = make_float2(p[n][2], p[n][3]);
    }
    __syncwarp();
#pragma unroll 2
    for (int key = 0; key < KeyTiles * 8; ++key) {
        const float p0 = p_warp[g * PStride + key], p1 = p_warp[(g + 8) * PStride + key];
        const ElementPair<T>* v = reinterpret_cast<const ElementPair<T>*>(v_tile + key * RowStride) + t;
#pragma unroll
        for (int n = 0; n < HeadDim / 8; ++n) {
            const float2 vv = to_float2(v[n * 4]);
            o[n][0] = fmaf(p0, vv.x, o[n][0]);
            o[n][1] = fmaf(p0, vv.y, o[n][1]);
            o[n][2] = fmaf(p1, vv.x, o[n][2]);
            o[n][3] = fmaf(p1, vv.y, o[n][3]);
        }
    }
    __syncwarp();  // the next tile overwrites p_warp
}

}  // namespace attn::cuda
