#pragma once
// Global -> shared copies of rows of one head (K, V or Q tiles), shared by the flash and xformers kernels.
#include <cstdint>

#include "kernels/cuda/flash/mma.cuh"

namespace attn::cuda {

// Copies `rows` rows of HeadDim 16-bit elements into shared memory (row stride RowStride) with 16-byte copies;
// rows at or past `valid_rows` become zeros.
template <int HeadDim, int RowStride, int Threads, KernelPath Path, typename T>
__device__ __forceinline__ void load_rows(T* smem, const T* first_row, int64_t row_stride, int rows,
                                          int valid_rows) {
    constexpr int kChunks = HeadDim / 8;
    for (int i = threadIdx.x; i < rows * kChunks; i += Threads) {
        const int r = i / kChunks, c = i % kChunks;
        const bool valid = r < valid_rows;
        const T* src = first_row + (valid ? r * row_stride : 0) + c * 8;
        mma::copy_16_bytes<Path>(smem + r * RowStride + c * 8, src, valid);
    }
}

}  // namespace attn::cuda
