// Naive attention: each block owns one (query row, head) and walks its visible keys twice —
// pass 1 takes the maximum score, pass 2 recomputes each score, exponentiates it against that maximum and
// accumulates p·V in fp32 — so any kv length runs in a fixed amount of shared memory and no workspace.
// Scores are plain fp32 dot products, one key per thread; V is accumulated with threads over head_dim.
// K/V elements are decoded one at a time by kv_format.cuh (any format); q4 values are accumulated in their
// rotated basis and the output row is rotated back once (o = Hᵀ Σ p·v').
#include "kernels/cuda/attention_naive.h"

#include <cmath>

#include <cub/block/block_reduce.cuh>
#include "kernels/cuda/kv_format.cuh"
#include "kernels/cuda/kv_hadamard.cuh"
#include "kernels/cuda/reduce_ops.cuh"

#include "src/cuda/check.h"

namespace attn::cuda {
namespace {

constexpr int kThreads = 128;
constexpr int kDimsPerThread = (kNaiveMaxHeadDim + kThreads - 1) / kThreads;

using BlockReduce = cub::BlockReduce<float, kThreads>;

// The sequence that owns packed query row `row`: the last b with q_offsets[b] <= row (a sequence with no
// queries shares its offset with the next one, so taking the last skips it).
__device__ int sequence_of_row(const int* q_offsets, int batch, int row) {
    int lo = 0, hi = batch - 1;  // invariant: q_offsets[lo] <= row, answer in [lo, hi]
    while (lo < hi) {
        const int mid = (lo + hi + 1) / 2;
        if (q_offsets[mid] <= row) lo = mid;
        else hi = mid - 1;
    }
    return lo;
}

template <typename T, KvFormat F>
__global__ void __launch_bounds__(kThreads)
attention_naive_kernel(AttentionParams p, const T* q, KvCacheView kv, T* out) {
    __shared__ float q_row[kNaiveMaxHeadDim];
    __shared__ float probs[kThreads];
    __shared__ typename BlockReduce::TempStorage reduce_storage;
    __shared__ float row_max_shared;
    __shared__ float row_sum_shared;

    const int row = blockIdx.x, head = blockIdx.y, tid = threadIdx.x;
    const int seq = sequence_of_row(p.q_offsets, p.batch, row);
    const int q_len = p.q_offsets[seq + 1] - p.q_offsets[seq];
    const int kv_len = p.kv_lens[seq];
    const int pos = kv_len - q_len + (row - p.q_offsets[seq]);
    const KeyRange keys = visible_key_range(p, pos, pos, kv_len);
    const int kv_head = head / (p.n_heads / p.n_kv_heads);
    const KvExactRows exact = kv_exact_rows(kv, kv_len, q_len, p.q_offsets[seq]);

    const T* q_in = q + (int64_t(row) * p.n_heads + head) * p.head_dim;
    for (int d = tid; d < p.head_dim; d += kThreads) q_row[d] = to_float(q_in[d]);
    __syncthreads();

    // visible_key_range bounds the loop; key_visible still decides, so the mask rule stays the shared one.
    auto score = [&](int key) {
        const KvRow k_row = locate_kv_row<F, false>(kv, seq, key, kv_head, p.head_dim, exact);
        float dot = 0.0f;
        for (int d = 0; d < p.head_dim; ++d) dot += q_row[d] * kv_element<T, F, false>(k_row, d);
        return dot * p.scale;
    };

    float local_max = -INFINITY;
    for (int key = keys.begin + tid; key < keys.end; key += kThreads)
        if (key_visible(p, pos, key)) local_max = fmaxf(local_max, score(key));
    const float block_max = BlockReduce(reduce_storage).Reduce(local_max, FloatMax{});
    if (tid == 0) row_max_shared = block_max;
    __syncthreads();
    const float row_max = row_max_shared;

    float acc[kDimsPerThread] = {};
    float local_sum = 0.0f;
    for (int chunk = keys.begin; chunk < keys.end; chunk += kThreads) {
        const int key = chunk + tid;
        probs[tid] = key < keys.end && key_visible(p, pos, key) ? expf(score(key) - row_max) : 0.0f;
        local_sum += probs[tid];
        __syncthreads();
        const int chunk_keys = min(kThreads, keys.end - chunk);
        for (int c = 0; c < chunk_keys; ++c) {
            const KvRow v_row = locate_kv_row<F, true>(kv, seq, chunk + c, kv_head, p.head_dim, exact);
            for (int i = 0; i < kDimsPerThread; ++i) {
                const int d = tid + i * kThreads;
                if (d < p.head_dim) acc[i] += probs[c] * kv_element<T, F, true>(v_row, d);
            }
        }
        __syncthreads();  // probs is rewritten by the next chunk
    }
    const float block_sum = BlockReduce(reduce_storage).Sum(local_sum);
    if (tid == 0) row_sum_shared = block_sum;
    __syncthreads();
    const float row_sum = row_sum_shared;

    T* out_row = out + (int64_t(row) * p.n_heads + head) * p.head_dim;
    if constexpr (F == KvFormat::Q4) {  // q_row is free again: stage the row, one warp rotates it back
        for (int i = 0; i < kDimsPerThread; ++i) {
            const int d = tid + i * kThreads;
            if (d < p.head_dim) q_row[d] = acc[i] / row_sum;
        }
        __syncthreads();
        if (tid < 32) {
            float x[kNaiveMaxHeadDim / 32];
#pragma unroll
            for (int j = 0; j < kNaiveMaxHeadDim / 32; ++j) x[j] = 32 * j < p.head_dim ? q_row[32 * j + tid] : 0.0f;
            warp_hadamard_unrotate(x, p.head_dim);
#pragma unroll
            for (int j = 0; j < kNaiveMaxHeadDim / 32; ++j)
                if (32 * j < p.head_dim) out_row[32 * j + tid] = from_float<T>(x[j]);
        }
    } else {
        for (int i = 0; i < kDimsPerThread; ++i) {
            const int d = tid + i * kThreads;
            if (d < p.head_dim) out_row[d] = from_float<T>(acc[i] / row_sum);
        }
    }
}

}  // namespace

template <typename T>
void attention_naive(const AttentionParams& params, const T* q, const KvCacheView& kv, T* out,
                     const Workspace& /*workspace: unused, see attention_naive_workspace_bytes*/, cudaStream_t stream) {
    validate_attention_params(params);
    if (params.head_dim > kNaiveMaxHeadDim)
        throw Error("--attn-backend naive supports head_dim up to " + std::to_string(kNaiveMaxHeadDim) + ", not " +
                    std::to_string(params.head_dim) + "; use --attn-backend sdp");
    if (params.total_q == 0) return;
    validate_kv_cache_view(kv, params.n_kv_heads, params.head_dim);
    ATTN_ASSERT(params.q_offsets && params.kv_lens && q && out);
    const dim3 grid(params.total_q, params.n_heads);
    dispatch_kv_format(kv.format(), [&](auto format) {
        attention_naive_kernel<T, decltype(format)::value><<<grid, kThreads, 0, stream>>>(params, q, kv, out);
    });
    CUDA_CHECK_LAUNCH();
}

template void attention_naive(const AttentionParams&, const __half*, const KvCacheView&, __half*, const Workspace&,
                              cudaStream_t);
template void attention_naive(const AttentionParams&, const __nv_bfloat16*, const KvCacheView&, __nv_bfloat16*,
                              const Workspace&, cudaStream_t);

size_t attention_naive_workspace_bytes(const AttentionParams& /*params*/) {
    return 0;
}

}  // namespace attn::cuda
