#pragma once
// K or V tiles of the KV cache -> shared memory as rows of the kernel's T, for the tiled prefill kernels
// (flash, xformers). Strided and paged 16-bit rows (already T) are copied as they are (cp.async on sm80); q8/q4 rows are decoded
// by kv_format.cuh while they are staged, and q4 value rows are also rotated back (one warp per row, a
// warp FWHT: about log2(head_dim) shuffles per element, once per query tile that reads the row).
#include <cstdint>

#include "kernels/cuda/flash/shared_tile_copy.cuh"
#include "kernels/cuda/kv_format.cuh"
#include "kernels/cuda/kv_hadamard.cuh"

namespace attn::cuda {

template <int HeadDim, int RowStride, int Threads, KernelPath Path, bool IsValue, typename T>
__device__ __forceinline__ void copy_f16_block_rows(T* smem, const KvCacheView& kv, int seq, int kv_head, int key0,
                                                    int rows, int valid_rows) {
    constexpr int kChunks = HeadDim / 8;
    for (int i = threadIdx.x; i < rows * kChunks; i += Threads) {
        const int r = i / kChunks, c = i % kChunks;
        const bool valid = r < valid_rows;
        const void* src = kv.blocks;  // any readable address: an invalid row copies nothing and zero-fills
        if (valid) src = locate_kv_row<KvFormat::F16, IsValue>(kv, seq, key0 + r, kv_head, HeadDim, {}).codes + c * 16;
        mma::copy_16_bytes<Path>(smem + r * RowStride + c * 8, src, valid);
    }
}

template <KvFormat F, bool IsValue, int HeadDim, int RowStride, int Threads, typename T>
__device__ __forceinline__ void decode_kv_chunks(T* smem, const KvCacheView& kv, const KvExactRows& exact, int seq,
                                                 int kv_head, int key0, int rows, int valid_rows) {
    constexpr int kChunks = HeadDim / 8;
    for (int i = threadIdx.x; i < rows * kChunks; i += Threads) {
        const int r = i / kChunks, c = i % kChunks;
        float x[8];
        KvChunk8<T, F, IsValue> chunk;
        if (r < valid_rows)
            chunk.fetch(locate_kv_row<F, IsValue>(kv, seq, key0 + r, kv_head, HeadDim, exact), c * 8);
        else
            chunk.zero();
        chunk.decode(x);
        store8(smem + r * RowStride + c * 8, x);
    }
}

template <int HeadDim, int RowStride, int Threads, typename T>
__device__ __forceinline__ void decode_q4_value_rows(T* smem, const KvCacheView& kv, const KvExactRows& exact,
                                                     int seq, int kv_head, int key0, int rows, int valid_rows) {
    constexpr int kPerLane = (HeadDim + 31) / 32;
    const int lane = threadIdx.x % 32;
    for (int r = threadIdx.x / 32; r < rows; r += Threads / 32) {
        float x[kPerLane] = {};
        if (r < valid_rows) {  // the same for the whole warp: the shuffles stay full-warp
            kv_load_row_strided<T, KvFormat::Q4, true>(
                locate_kv_row<KvFormat::Q4, true>(kv, seq, key0 + r, kv_head, HeadDim, exact), HeadDim, x);
            warp_hadamard_unrotate(x, HeadDim);
        }
#pragma unroll
        for (int j = 0; j < kPerLane; ++j)
            if (32 * j + lane < HeadDim) smem[r * RowStride + 32 * j + lane] = from_float<T>(x[j]);
    }
}

// Rows [key0, key0 + rows) of sequence `seq`'s K (or V) for kv_head, into smem (row stride RowStride) as
// T; rows at or past valid_rows become zeros. p: the kernel's params (the sequence's exact rows, kv_format.cuh).
template <int HeadDim, int RowStride, int Threads, KernelPath Path, bool IsValue, typename T>
__device__ __forceinline__ void load_kv_rows(T* smem, const KvCacheView& kv, const AttentionParams& p, int seq,
                                             int kv_head, int key0, int rows, int valid_rows) {
    switch (kv.format()) {
        case KvFormat::Q8:
            return decode_kv_chunks<KvFormat::Q8, IsValue, HeadDim, RowStride, Threads>(
                smem, kv, kv_exact_rows(kv, p, seq), seq, kv_head, key0, rows, valid_rows);
        case KvFormat::Q4:
            if constexpr (IsValue)
                return decode_q4_value_rows<HeadDim, RowStride, Threads>(smem, kv, kv_exact_rows(kv, p, seq), seq,
                                                                         kv_head, key0, rows, valid_rows);
            else
                return decode_kv_chunks<KvFormat::Q4, false, HeadDim, RowStride, Threads>(
                    smem, kv, kv_exact_rows(kv, p, seq), seq, kv_head, key0, rows, valid_rows);
        default:
            if (kv.in_blocks())
                return copy_f16_block_rows<HeadDim, RowStride, Threads, Path, IsValue>(smem, kv, seq, kv_head, key0,
                                                                                       rows, valid_rows);
            const T* rows_base = static_cast<const T*>(IsValue ? kv.v : kv.k) + seq * kv.seq_stride + int64_t(key0) * kv.token_stride +
                                      int64_t(kv_head) * HeadDim;
            return load_rows<HeadDim, RowStride, Threads, Path>(smem, rows_base, kv.token_stride, rows, valid_rows);
    }
}

}  // namespace attn::cuda
