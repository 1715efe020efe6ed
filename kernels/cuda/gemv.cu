// GEMV for decode. A group of warps owns kRows output rows; its lanes stride over the rows' `in` columns in
// chunks (8 elements, one 16-byte load, on the vector path), keep kRows x kUnroll weight loads in flight each
// while they FMA the previous ones into all n tokens' fp32 sums, so W is read once whatever n is. Sums reduce
// by warp shuffles, then across the group's warps through shared memory. Small `out` splits `in` over more
// warps per group so that every SM has enough loads in flight to reach memory bandwidth.
// The x chunk for the same columns comes through L1: x is at most 4 rows, re-read by every warp, and W is
// loaded evict-first so it does not push x out. Staging x in shared memory instead would copy up to 64 KB
// into every block, as many bytes as the block's share of W when `out` is small.
#include "kernels/cuda/gemv.h"

#include <cstdint>
#include <string>

#include "kernels/cuda/current_device.h"
#include "kernels/cuda/vector_access.cuh"
#include "src/common/error.h"
#include "src/cuda/check.h"

namespace attn::cuda {
namespace {

constexpr int kWarps = 8;
constexpr int kThreads = 32 * kWarps;
// Two rows share each x chunk a lane loads and widens, halving that work per weight byte at n = 4.
constexpr int kRows = 2;
constexpr int kUnroll = 2;
// Blocks that must fit an SM, capping registers: n = 1, decode's usual case, fits 64 (32 warps an SM); n = 4
// needs about 128 for two steps of W and x chunks in flight (16 warps an SM).
constexpr int min_blocks_per_sm(int tokens) { return tokens == 1 ? 4 : 2; }
// Warps in all that make split groups worth it: half of a Hopper SM's 64. At kRows x kUnroll 16-byte loads
// per lane that is 64 KB in flight per SM, several times the ~20 KB that covers DRAM latency at full rate.
constexpr int kTargetWarpsPerSm = 32;

// kVec consecutive elements of a row as loaded: 8 (one 16-byte load) on the vector path, 1 on the scalar.
template <typename T, int kVec>
struct Chunk;

template <typename T>
struct Chunk<T, 8> {
    uint4 raw;
    // W is read once per call: evict-first, so x stays in L1 for the other warps.
    __device__ __forceinline__ void load_streaming(const T* row, int index) {
        raw = __ldcs(reinterpret_cast<const uint4*>(row) + index);
    }
    __device__ __forceinline__ void load_cached(const T* row, int index) {
        raw = __ldg(reinterpret_cast<const uint4*>(row) + index);
    }
    __device__ __forceinline__ void widen(float (&f)[8]) const { unpack8<T>(raw, f); }
};

// The fallback for odd shapes and misaligned buffers: plain loads, its speed is not the point.
template <typename T>
struct Chunk<T, 1> {
    T raw;
    __device__ __forceinline__ void load_streaming(const T* row, int index) { raw = row[index]; }
    __device__ __forceinline__ void load_cached(const T* row, int index) { raw = row[index]; }
    __device__ __forceinline__ void widen(float (&f)[1]) const { f[0] = to_float(raw); }
};

// kSteps chunks of each row, `stride` apart, and the same columns of every x row.
template <int kSteps, typename T, int kTokens, int kVec>
struct Step {
    Chunk<T, kVec> w[kSteps][kRows], x[kSteps][kTokens];

    __device__ __forceinline__ void load(const T* const (&rows)[kRows], const T* x_rows, int in, int c, int stride) {
#pragma unroll
        for (int u = 0; u < kSteps; ++u) {
#pragma unroll
            for (int r = 0; r < kRows; ++r) w[u][r].load_streaming(rows[r], c + u * stride);
#pragma unroll
            for (int t = 0; t < kTokens; ++t) x[u][t].load_cached(x_rows + size_t(t) * in, c + u * stride);
        }
    }

    __device__ __forceinline__ void accumulate(float (&acc)[kRows][kTokens]) const {
#pragma unroll
        for (int u = 0; u < kSteps; ++u) {
            float xf[kTokens][kVec];
#pragma unroll
            for (int t = 0; t < kTokens; ++t) x[u][t].widen(xf[t]);
#pragma unroll
            for (int r = 0; r < kRows; ++r) {
                float wf[kVec];
                w[u][r].widen(wf);
#pragma unroll
                for (int t = 0; t < kTokens; ++t)
#pragma unroll
                    for (int e = 0; e < kVec; ++e) acc[r][t] = fmaf(wf[e], xf[t][e], acc[r][t]);
            }
        }
    }
};

// group_warps (a power of two dividing kWarps) warps share each group of kRows rows.
template <typename T, int kTokens, int kVec>
__global__ void __launch_bounds__(kThreads, min_blocks_per_sm(kTokens))
gemv_kernel(const T* __restrict__ x, int in, const T* __restrict__ w, int out, float* __restrict__ y, float beta,
            int group_warps) {
    __shared__ float partial[kWarps][kRows * kTokens];
    const int warp = threadIdx.x / 32, lane = threadIdx.x % 32;
    const int group = blockIdx.x * (kWarps / group_warps) + warp / group_warps;
    const int stride = group_warps * 32;
    const int chunks = in / kVec;

    // Rows past `out` (odd out, the last block's spare groups) re-read the last row and drop their sums:
    // every warp still reaches the barrier below.
    const T* rows[kRows];
#pragma unroll
    for (int r = 0; r < kRows; ++r) rows[r] = w + size_t(min(group * kRows + r, out - 1)) * in;

    float acc[kRows][kTokens] = {};
    // Software-pipelined: a step's loads are issued before the previous step's FMAs. Written as plain
    // load-then-use steps, ptxas moves each step's later loads behind its first FMAs (seen in the SASS), so
    // a lane waits out DRAM latency with few loads in flight.
    int c = (warp % group_warps) * 32 + lane;
    const int step_chunks = kUnroll * stride, last_in_step = step_chunks - stride;
    if (c + last_in_step < chunks) {
        Step<kUnroll, T, kTokens, kVec> current;
        current.load(rows, x, in, c, stride);
        for (c += step_chunks; c + last_in_step < chunks; c += step_chunks) {
            Step<kUnroll, T, kTokens, kVec> next;
            next.load(rows, x, in, c, stride);
            current.accumulate(acc);
            current = next;
        }
        current.accumulate(acc);
    }
    for (; c < chunks; c += stride) {
        Step<1, T, kTokens, kVec> last;
        last.load(rows, x, in, c, stride);
        last.accumulate(acc);
    }

#pragma unroll
    for (int r = 0; r < kRows; ++r)
#pragma unroll
        for (int t = 0; t < kTokens; ++t)
#pragma unroll
            for (int offset = 16; offset > 0; offset /= 2)
                acc[r][t] += __shfl_xor_sync(0xffffffffu, acc[r][t], offset);
    if (lane == 0)
#pragma unroll
        for (int r = 0; r < kRows; ++r)
#pragma unroll
            for (int t = 0; t < kTokens; ++t) partial[warp][r * kTokens + t] = acc[r][t];
    __syncthreads();

    // The group's first warp writes its kRows x kTokens outputs, one per lane.
    if (warp % group_warps != 0 || lane >= kRows * kTokens) return;
    const int row = group * kRows + lane / kTokens, token = lane % kTokens;
    if (row >= out) return;
    float sum = 0.0f;
    for (int s = 0; s < group_warps; ++s) sum += partial[warp + s][lane];
    float* dst = y + size_t(token) * out + row;
    *dst = beta == 0.0f ? sum : sum + beta * *dst;  // beta 0 never reads y, as cuBLAS: it may hold NaN
}

// Warps per row group: one while there are enough groups to fill the SMs, else doubled until there are, as
// long as each lane still gets kUnroll chunks.
int group_warps_for(int out, int chunks) {
    const int64_t groups = (int64_t(out) + kRows - 1) / kRows;
    const int64_t target_warps = int64_t(kTargetWarpsPerSm) * current_multiprocessor_count();
    int group_warps = 1;
    while (group_warps < kWarps && groups * group_warps < target_warps &&
           chunks >= 2 * group_warps * 32 * kUnroll)
        group_warps *= 2;
    return group_warps;
}

template <typename T, int kTokens, int kVec>
void launch(const T* x, int in, const T* w, int out, float* y, float beta, cudaStream_t stream) {
    const int group_warps = group_warps_for(out, in / kVec);
    const int64_t groups = (int64_t(out) + kRows - 1) / kRows;
    const int groups_per_block = kWarps / group_warps;
    const int blocks = int((groups + groups_per_block - 1) / groups_per_block);
    gemv_kernel<T, kTokens, kVec><<<blocks, kThreads, 0, stream>>>(x, in, w, out, y, beta, group_warps);
    CUDA_CHECK_LAUNCH();
}

template <typename T, int kVec>
void launch_for_tokens(const T* x, int n, int in, const T* w, int out, float* y, float beta, cudaStream_t stream) {
    static_assert(kGemvMaxTokens == 4, "one case per token count");
    switch (n) {
        case 1: return launch<T, 1, kVec>(x, in, w, out, y, beta, stream);
        case 2: return launch<T, 2, kVec>(x, in, w, out, y, beta, stream);
        case 3: return launch<T, 3, kVec>(x, in, w, out, y, beta, stream);
        case 4: return launch<T, 4, kVec>(x, in, w, out, y, beta, stream);
    }
}

}  // namespace

template <typename T>
void gemv(const T* x, int n, int in, const T* w, int out, float* y, float beta, cudaStream_t stream) {
    if (n < 1 || n > kGemvMaxTokens)
        throw Error("internal error: gemv takes 1 to " + std::to_string(kGemvMaxTokens) + " tokens, not " +
                    std::to_string(n));
    if (out == 0) return;
    if (in % 8 == 0 && aligned(x, 16) && aligned(w, 16))
        launch_for_tokens<T, 8>(x, n, in, w, out, y, beta, stream);
    else
        launch_for_tokens<T, 1>(x, n, in, w, out, y, beta, stream);
}

template void gemv(const __half*, int, int, const __half*, int, float*, float, cudaStream_t);
template void gemv(const __nv_bfloat16*, int, int, const __nv_bfloat16*, int, float*, float, cudaStream_t);

}  // namespace attn::cuda
