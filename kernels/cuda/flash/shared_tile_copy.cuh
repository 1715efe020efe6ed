#pragma once
// Global -> shared copies of rows of one head (K, V or Q tiles), shared by the flash and xformers kernels.
#include <cstdint>

#include "kernels/cuda/flash/mma.cuh"

namespace attn::cuda {

// Copies `rows` rows of HeadDim 16-bit elements (T) into shared memory (row stride RowStride) with 16-byte copies;
// rows at or past `valid_rows` become zeros. A thread keeps one 16-byte column and walks down the rows, so
// where `rows` is a constant (every caller: a tile height) the loop unrolls into a fixed count of copies with
// no index arithmetic beyond a row step (a generic strided loop cost ~30 instructions per copy).
template <int HeadDim, int RowStride, int Threads, KernelPath Path, typename T>
__device__ __forceinline__ void load_rows(T* smem, const T* first_row, int64_t row_stride, int rows,
                                          int valid_rows) {
    constexpr int kChunks = HeadDim / 8;
    constexpr int kRowsPerPass = Threads / kChunks;  // head_dim 80, 96: the last few threads stay idle
    static_assert(kRowsPerPass > 0, "a pass covers at least one row");
    const int first = threadIdx.x / kChunks, c = threadIdx.x % kChunks;
    if (first >= kRowsPerPass) return;
    const T* src = first_row + first * row_stride + c * 8;
    T* dst = smem + first * RowStride + c * 8;
    auto copy_passes = [&](auto row_valid) {
#pragma unroll
        for (int pass = 0; pass < (rows + kRowsPerPass - 1) / kRowsPerPass; ++pass) {
            const int r = first + pass * kRowsPerPass;
            if (rows % kRowsPerPass != 0 && r >= rows) break;
            const bool valid = row_valid(r);  // an invalid row reads nothing: any address will do
            mma::copy_16_bytes<Path>(dst + pass * kRowsPerPass * RowStride,
                                     valid ? src + pass * kRowsPerPass * row_stride : first_row, valid);
        }
    };
    // A tile that ends inside the sequence (all but its last) needs no test per row.
    if (valid_rows >= rows)
        copy_passes([](int) { return true; });
    else
        copy_passes([&](int r) { return r < valid_rows; });
}

}  // namespace attn::cuda
