// One warp per (key, kv head): lane l decodes elements 32j + l of the K and V rows (kv_format.cuh), the V row
// of a q4 cache is rotated back by a warp FWHT, and both are stored as T.
#include "kernels/cuda/kv_decode_rows.h"

#include <string>

#include "kernels/cuda/kv_format.cuh"
#include "kernels/cuda/kv_hadamard.cuh"
#include "src/cuda/check.h"

namespace attn::cuda {
namespace {

constexpr int kWarps = 4;
constexpr int kPerLane = kDecodeRowsMaxHeadDim / 32;

struct RowRange {
    int seq;
    KvExactRows exact;
    int first_key, keys, first_kv_head, kv_heads, head_dim;
};

template <typename T, KvFormat F>
__global__ void __launch_bounds__(32 * kWarps)
decode_kv_rows_kernel(KvCacheView kv, RowRange range, T* k_out, T* v_out) {
    const int row = blockIdx.x * kWarps + threadIdx.x / 32, lane = threadIdx.x % 32;
    if (row >= range.keys * range.kv_heads) return;  // whole warps leave together
    const int key = range.first_key + row / range.kv_heads, kv_head = range.first_kv_head + row % range.kv_heads;
    const int64_t out_offset = int64_t(row) * range.head_dim;
    float x[kPerLane];
    kv_load_row_strided<T, F, false>(locate_kv_row<F, false>(kv, range.seq, key, kv_head, range.head_dim, range.exact),
                                  range.head_dim, x);
#pragma unroll
    for (int j = 0; j < kPerLane; ++j)
        if (32 * j + lane < range.head_dim) k_out[out_offset + 32 * j + lane] = from_float<T>(x[j]);
    kv_load_row_strided<T, F, true>(locate_kv_row<F, true>(kv, range.seq, key, kv_head, range.head_dim, range.exact),
                                 range.head_dim, x);
    if constexpr (F == KvFormat::Q4) warp_hadamard_unrotate(x, range.head_dim);
#pragma unroll
    for (int j = 0; j < kPerLane; ++j)
        if (32 * j + lane < range.head_dim) v_out[out_offset + 32 * j + lane] = from_float<T>(x[j]);
}

}  // namespace

template <typename T>
void decode_kv_rows(const KvCacheView& kv, int seq, const KvExactRows& exact, int first_key, int keys,
                    int first_kv_head, int kv_heads, int head_dim, T* k_out, T* v_out, cudaStream_t stream) {
    if (head_dim > kDecodeRowsMaxHeadDim)
        throw Error("decoding the KV cache supports head_dim up to " + std::to_string(kDecodeRowsMaxHeadDim) +
                    ", not " + std::to_string(head_dim) + "; use --kv-cache fp16 without --paged");
    if (keys <= 0 || kv_heads <= 0) return;
    const RowRange range{seq, exact, first_key, keys, first_kv_head, kv_heads, head_dim};
    const int rows = keys * kv_heads;
    dispatch_kv_format(kv.format(), [&](auto format) {
        decode_kv_rows_kernel<T, decltype(format)::value>
            <<<(rows + kWarps - 1) / kWarps, 32 * kWarps, 0, stream>>>(kv, range, k_out, v_out);
    });
    CUDA_CHECK_LAUNCH();
}

template void decode_kv_rows(const KvCacheView&, int, const KvExactRows&, int, int, int, int, int, __half*, __half*,
                             cudaStream_t);
template void decode_kv_rows(const KvCacheView&, int, const KvExactRows&, int, int, int, int, int, __nv_bfloat16*,
                             __nv_bfloat16*, cudaStream_t);

}  // namespace attn::cuda
