// GEMV for decode. A group of warps owns kRows output rows; its lanes stride over the rows' `in` columns in
// chunks (8 elements, one 16-byte load, on the vector path), keep kRows x kUnroll weight loads in flight each
// while they FMA the previous ones into all n tokens' fp32 sums, so W is read once whatever n is. Sums reduce
// by warp shuffles, then across the group's warps through shared memory. Small `out` splits `in` over more
// warps per group, up to what one wave of resident blocks holds, so that every SM has loads in flight.
// The x chunk for the same columns comes through L1: x is at most 4 rows, re-read by every warp, and W is
// loaded evict-first so it does not push x out. Staging x in shared memory instead would copy up to 64 KB
// into every block, as many bytes as the block's share of W when `out` is small.
// Fused RMSNorm: the loop multiplies W by residual·norm_weight and every block also sums the squares of the
// residual rows (L2-resident, a few KB), so 1/rms scales the finished sums and no block waits for another.
// Fused SwiGLU: a group's two rows are a gate row and its up row, so one lane holds both sums of an output.
// On sm_90 the kernel is a programmatic dependent launch: it issues its first weight loads, which depend on
// no kernel, before it waits for the previous kernel to finish.
#include "kernels/cuda/gemv.h"

#include <cstdint>
#include <string>

#include "kernels/cuda/current_device.h"
#include "kernels/cuda/dependent_launch.cuh"
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

// The same columns of an fp32 row.
template <int kVec>
struct FloatChunk {
    float4 raw[kVec / 4];
    __device__ __forceinline__ void load(const float* row, int index) {
#pragma unroll
        for (int i = 0; i < kVec / 4; ++i) raw[i] = __ldg(reinterpret_cast<const float4*>(row) + index * (kVec / 4) + i);
    }
    __device__ __forceinline__ float operator[](int e) const {
        const float4& q = raw[e / 4];
        return e % 4 == 0 ? q.x : e % 4 == 1 ? q.y : e % 4 == 2 ? q.z : q.w;
    }
};

template <>
struct FloatChunk<1> {
    float raw;
    __device__ __forceinline__ void load(const float* row, int index) { raw = row[index]; }
    __device__ __forceinline__ float operator[](int) const { return raw; }
};

// Every token's input chunk for one column index: x as stored, or residual · norm_weight (kNormed).
template <typename T, int kTokens, int kVec, bool kNormed>
struct InputChunks {
    Chunk<T, kVec> x[kTokens];
    __device__ __forceinline__ void load(const GemvInput<T>& input, int in, int c) {
#pragma unroll
        for (int t = 0; t < kTokens; ++t) x[t].load_cached(input.x + size_t(t) * in, c);
    }
    __device__ __forceinline__ void widen(float (&xf)[kTokens][kVec]) const {
#pragma unroll
        for (int t = 0; t < kTokens; ++t) x[t].widen(xf[t]);
    }
};

template <typename T, int kTokens, int kVec>
struct InputChunks<T, kTokens, kVec, true> {
    FloatChunk<kVec> residual[kTokens];
    Chunk<T, kVec> norm_weight;
    __device__ __forceinline__ void load(const GemvInput<T>& input, int in, int c) {
#pragma unroll
        for (int t = 0; t < kTokens; ++t) residual[t].load(input.residual + size_t(t) * in, c);
        norm_weight.load_cached(input.norm_weight, c);
    }
    __device__ __forceinline__ void widen(float (&xf)[kTokens][kVec]) const {
        float g[kVec];
        norm_weight.widen(g);
#pragma unroll
        for (int t = 0; t < kTokens; ++t)
#pragma unroll
            for (int e = 0; e < kVec; ++e) xf[t][e] = residual[t][e] * g[e];
    }
};

// kSteps chunks of each row, `stride` apart, and the same columns of every token's input.
template <int kSteps, typename T, int kTokens, int kVec, bool kNormed>
struct Step {
    Chunk<T, kVec> w[kSteps][kRows];
    InputChunks<T, kTokens, kVec, kNormed> x[kSteps];

    __device__ __forceinline__ void load_weights(const T* const (&rows)[kRows], int c, int stride) {
#pragma unroll
        for (int u = 0; u < kSteps; ++u)
#pragma unroll
            for (int r = 0; r < kRows; ++r) w[u][r].load_streaming(rows[r], c + u * stride);
    }

    __device__ __forceinline__ void load_inputs(const GemvInput<T>& input, int in, int c, int stride) {
#pragma unroll
        for (int u = 0; u < kSteps; ++u) x[u].load(input, in, c + u * stride);
    }

    __device__ __forceinline__ void accumulate(float (&acc)[kRows][kTokens]) const {
#pragma unroll
        for (int u = 0; u < kSteps; ++u) {
            float xf[kTokens][kVec];
            x[u].widen(xf);
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

// This thread's share of each token's sum of squares over the whole residual row (the block's threads
// stride over it together).
template <int kTokens, int kVec>
__device__ __forceinline__ void sum_squares(const float* residual, int in, float (&squares)[kTokens]) {
    for (int c = threadIdx.x; c < in / kVec; c += kThreads) {
#pragma unroll
        for (int t = 0; t < kTokens; ++t) {
            FloatChunk<kVec> chunk;
            chunk.load(residual + size_t(t) * in, c);
#pragma unroll
            for (int e = 0; e < kVec; ++e) squares[t] = fmaf(chunk[e], chunk[e], squares[t]);
        }
    }
}

__device__ __forceinline__ float warp_sum(float value) {
#pragma unroll
    for (int offset = 16; offset > 0; offset /= 2) value += __shfl_xor_sync(0xffffffffu, value, offset);
    return value;
}

// group_warps (a power of two dividing kWarps) warps share each group of kRows rows. A group's rows are
// group * kRows + r, or with kSwiglu gate row `group` and up row out / 2 + group.
template <typename T, int kTokens, int kVec, bool kNormed, bool kSwiglu>
__global__ void __launch_bounds__(kThreads, min_blocks_per_sm(kTokens))
gemv_kernel(GemvInput<T> input, int in, const T* __restrict__ w, int out, GemvOutput<T> output, int groups,
            int group_warps) {
    static_assert(!kSwiglu || kRows == 2, "a SwiGLU group is one gate row and one up row");
    __shared__ float partial[kWarps][kRows * kTokens];
    __shared__ float partial_squares[kWarps][kTokens];
    allow_next_kernel();
    const int warp = threadIdx.x / 32, lane = threadIdx.x % 32;
    const int group = blockIdx.x * (kWarps / group_warps) + warp / group_warps;
    const int stride = group_warps * 32;
    const int chunks = in / kVec;

    // The last block's spare groups re-read the last group's rows and drop their sums: every warp still
    // reaches the barrier below.
    const int row_group = min(group, groups - 1);
    const T* rows[kRows];
#pragma unroll
    for (int r = 0; r < kRows; ++r) {
        const int row = kSwiglu ? r * (out / 2) + row_group : min(row_group * kRows + r, out - 1);
        rows[r] = w + size_t(row) * in;
    }

    float acc[kRows][kTokens] = {};
    // Software-pipelined: a step's loads are issued before the previous step's FMAs. Written as plain
    // load-then-use steps, ptxas moves each step's later loads behind its first FMAs (seen in the SASS), so
    // a lane waits out DRAM latency with few loads in flight. fp32 residual chunks would take twice the
    // registers of 16-bit ones and spill at the register cap if they were prefetched too; they hit L1 or L2,
    // so the normed path loads them just before use.
    constexpr bool kPrefetchInputs = !kNormed;
    int c = (warp % group_warps) * 32 + lane;
    const int step_chunks = kUnroll * stride, last_in_step = step_chunks - stride;
    const bool unrolled = c + last_in_step < chunks;
    Step<kUnroll, T, kTokens, kVec, kNormed> current;
    if (unrolled) current.load_weights(rows, c, stride);
    wait_for_previous_kernel();  // the inputs (and y) belong to earlier kernels from here on

    float squares[kTokens] = {};
    if (kNormed) sum_squares<kTokens, kVec>(input.residual, in, squares);
    if (unrolled) {
        if (kPrefetchInputs) current.load_inputs(input, in, c, stride);
        for (int next_c = c + step_chunks; next_c + last_in_step < chunks; c = next_c, next_c += step_chunks) {
            Step<kUnroll, T, kTokens, kVec, kNormed> next;
            next.load_weights(rows, next_c, stride);
            if (kPrefetchInputs)
                next.load_inputs(input, in, next_c, stride);
            else
                current.load_inputs(input, in, c, stride);
            current.accumulate(acc);
            current = next;
        }
        if (!kPrefetchInputs) current.load_inputs(input, in, c, stride);
        current.accumulate(acc);
        c += step_chunks;
    }
    for (; c < chunks; c += stride) {
        Step<1, T, kTokens, kVec, kNormed> last;
        last.load_weights(rows, c, stride);
        last.load_inputs(input, in, c, stride);
        last.accumulate(acc);
    }

#pragma unroll
    for (int r = 0; r < kRows; ++r)
#pragma unroll
        for (int t = 0; t < kTokens; ++t) acc[r][t] = warp_sum(acc[r][t]);
    if (kNormed)
#pragma unroll
        for (int t = 0; t < kTokens; ++t) squares[t] = warp_sum(squares[t]);
    if (lane == 0) {
#pragma unroll
        for (int r = 0; r < kRows; ++r)
#pragma unroll
            for (int t = 0; t < kTokens; ++t) partial[warp][r * kTokens + t] = acc[r][t];
        if (kNormed)
#pragma unroll
            for (int t = 0; t < kTokens; ++t) partial_squares[warp][t] = squares[t];
    }
    __syncthreads();

    // The group's first warp writes its outputs, a lane per token.
    if (warp % group_warps != 0 || lane >= kTokens || group >= groups) return;
    const int token = lane;
    float sums[kRows];
#pragma unroll
    for (int r = 0; r < kRows; ++r) {
        sums[r] = 0.0f;
        for (int s = 0; s < group_warps; ++s) sums[r] += partial[warp + s][r * kTokens + token];
    }
    if constexpr (kNormed) {
        float sum_sq = 0.0f;
        for (int s = 0; s < kWarps; ++s) sum_sq += partial_squares[s][token];
        // Same expression as the RMSNorm kernel and the CPU reference: 1 / sqrt(mean + eps).
        const float inv_rms = 1.0f / sqrtf(sum_sq / float(in) + input.eps);
#pragma unroll
        for (int r = 0; r < kRows; ++r) sums[r] *= inv_rms;
    }
    if constexpr (kSwiglu) {
        const float gate = sums[0], up = sums[1];
        output.swiglu[size_t(token) * (out / 2) + group] = from_float<T>(gate / (1.0f + expf(-gate)) * up);
    } else {
#pragma unroll
        for (int r = 0; r < kRows; ++r) {
            const int row = group * kRows + r;
            if (row >= out) break;
            float* dst = output.y + size_t(token) * out + row;
            // beta 0 never reads y, as in cuBLAS: it may hold NaN
            *dst = output.beta == 0.0f ? sums[r] : sums[r] + output.beta * *dst;
        }
    }
}

// Warps per row group: the most for which the grid still fits one wave of resident blocks (more loads in
// flight per row; a second, partial wave would cost about as long as the first), as long as each lane gets
// kUnroll chunks; one when even that makes more than a wave. Measured on the H100 (ncu, 1B decode): the QKV
// projection ran 1.45 waves at 1310 GB/s.
int group_warps_for(int groups, int chunks, int resident_blocks) {
    int group_warps = 1;
    while (group_warps < kWarps && chunks >= 2 * group_warps * 32 * kUnroll &&
           int64_t(groups) * group_warps * 2 <= int64_t(resident_blocks) * kWarps)
        group_warps *= 2;
    return group_warps;
}

template <typename T, int kTokens, int kVec, bool kNormed, bool kSwiglu>
void launch(const GemvInput<T>& input, int in, const T* w, int out, const GemvOutput<T>& output,
            cudaStream_t stream) {
    const auto kernel = gemv_kernel<T, kTokens, kVec, kNormed, kSwiglu>;
    static const int resident_blocks =
        resident_blocks_per_sm(reinterpret_cast<const void*>(kernel), kThreads) * current_multiprocessor_count();
    const int groups = kSwiglu ? out / 2 : (out + kRows - 1) / kRows;
    const int group_warps = group_warps_for(groups, in / kVec, resident_blocks);
    const int groups_per_block = kWarps / group_warps;
    const int blocks = (groups + groups_per_block - 1) / groups_per_block;
    launch_dependent(kernel, dim3(blocks), dim3(kThreads), 0, stream, input, in, w, out, output, groups, group_warps);
}

template <typename T, int kVec, bool kNormed, bool kSwiglu>
void launch_for_tokens(const GemvInput<T>& input, int n, int in, const T* w, int out, const GemvOutput<T>& output,
                       cudaStream_t stream) {
    static_assert(kGemvMaxTokens == 4, "one case per token count");
    switch (n) {
        case 1: return launch<T, 1, kVec, kNormed, kSwiglu>(input, in, w, out, output, stream);
        case 2: return launch<T, 2, kVec, kNormed, kSwiglu>(input, in, w, out, output, stream);
        case 3: return launch<T, 3, kVec, kNormed, kSwiglu>(input, in, w, out, output, stream);
        case 4: return launch<T, 4, kVec, kNormed, kSwiglu>(input, in, w, out, output, stream);
    }
}

template <typename T, int kVec>
void launch_for_fusion(const GemvInput<T>& input, int n, int in, const T* w, int out, const GemvOutput<T>& output,
                       cudaStream_t stream) {
    const bool normed = input.x == nullptr, swiglu = output.y == nullptr;
    if (normed && swiglu) return launch_for_tokens<T, kVec, true, true>(input, n, in, w, out, output, stream);
    if (normed) return launch_for_tokens<T, kVec, true, false>(input, n, in, w, out, output, stream);
    if (swiglu) return launch_for_tokens<T, kVec, false, true>(input, n, in, w, out, output, stream);
    launch_for_tokens<T, kVec, false, false>(input, n, in, w, out, output, stream);
}

}  // namespace

template <typename T>
void gemv(const GemvInput<T>& input, int n, int in, const T* w, int out, const GemvOutput<T>& output,
          cudaStream_t stream) {
    if (n < 1 || n > kGemvMaxTokens)
        throw Error("internal error: gemv takes 1 to " + std::to_string(kGemvMaxTokens) + " tokens, not " +
                    std::to_string(n));
    if (!input.x && !(input.residual && input.norm_weight))
        throw Error("internal error: gemv needs x, or a residual and a norm weight");
    if (!output.y && (!output.swiglu || out % 2 != 0))
        throw Error("internal error: gemv needs y, or a SwiGLU output and an even number of rows");
    if (out == 0) return;
    const bool vector_inputs = input.x ? aligned(input.x, 16)
                                       : aligned(input.residual, 16) && aligned(input.norm_weight, 16);
    if (in % 8 == 0 && vector_inputs && aligned(w, 16))
        launch_for_fusion<T, 8>(input, n, in, w, out, output, stream);
    else
        launch_for_fusion<T, 1>(input, n, in, w, out, output, stream);
}

template void gemv(const GemvInput<__half>&, int, int, const __half*, int, const GemvOutput<__half>&, cudaStream_t);
template void gemv(const GemvInput<__nv_bfloat16>&, int, int, const __nv_bfloat16*, int,
                   const GemvOutput<__nv_bfloat16>&, cudaStream_t);

}  // namespace attn::cuda
