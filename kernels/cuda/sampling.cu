// Sampling: penalty and temperature into a scratch copy, a stable CUB radix sort (descending, ids as
// values, so ties keep the lower id first), then one 1024-thread block finds the kept prefix (top-k, min-p
// and top-p all cut the sorted order) with block scans and draws from it. Any vocab that fits in int.
#include "kernels/cuda/sampling.h"

#include <algorithm>
#include <climits>
#include <cmath>
#include <cstdint>

#include <cub/block/block_reduce.cuh>
#include <cub/block/block_scan.cuh>
#include <cub/device/device_radix_sort.cuh>

#include "src/common/error.h"
#include "src/cuda/check.h"

namespace attn::cuda {
namespace {

constexpr int kBlockThreads = 1024;  // argmax and the selection run in one block: no second pass, no atomics
constexpr int kItemsPerThread = 4;   // prefix scans take 4096 sorted entries per step
constexpr int kElementwiseThreads = 256;
constexpr size_t kAlignBytes = 256;

// ---- argmax -------------------------------------------------------------------------------------------

struct Candidate {
    float value;
    int32_t index;
};

// The larger value, the lower index on ties: an order independent of how the reduction pairs elements.
struct PreferLarger {
    __device__ Candidate operator()(const Candidate& a, const Candidate& b) const {
        return (b.value > a.value || (b.value == a.value && b.index < a.index)) ? b : a;
    }
};

__global__ void __launch_bounds__(kBlockThreads)
    argmax_kernel(const float* __restrict__ logits, int vocab, bool vectorised, int32_t* out_token) {
    using BlockReduce = cub::BlockReduce<Candidate, kBlockThreads>;
    __shared__ typename BlockReduce::TempStorage reduce_storage;
    const PreferLarger prefer;
    Candidate best{-INFINITY, INT_MAX};  // loses to any real element, -inf included
    int scalar_begin = 0;
    if (vectorised) {
        const int n_vec = vocab / 4;
        for (int v = threadIdx.x; v < n_vec; v += kBlockThreads) {
            const float4 q = reinterpret_cast<const float4*>(logits)[v];
            best = prefer(best, {q.x, 4 * v});
            best = prefer(best, {q.y, 4 * v + 1});
            best = prefer(best, {q.z, 4 * v + 2});
            best = prefer(best, {q.w, 4 * v + 3});
        }
        scalar_begin = n_vec * 4;
    }
    for (int i = scalar_begin + threadIdx.x; i < vocab; i += kBlockThreads) best = prefer(best, {logits[i], i});
    best = BlockReduce(reduce_storage).Reduce(best, prefer);
    if (threadIdx.x == 0) *out_token = best.index;
}

// ---- penalty and temperature --------------------------------------------------------------------------

// ids may be null (greedy needs no sort values).
__global__ void scale_logits_kernel(const float* __restrict__ logits, int vocab, float temperature,
                                    float* __restrict__ scaled, int32_t* __restrict__ ids) {
    for (int i = blockIdx.x * kElementwiseThreads + threadIdx.x; i < vocab; i += gridDim.x * kElementwiseThreads) {
        scaled[i] = logits[i] / temperature;
        if (ids) ids[i] = i;
    }
}

// One thread per window entry. An id that occurs several times is written by several threads, but each
// computes the same value from the unmodified input logits, so it is penalised exactly once (the HF rule).
__global__ void penalise_recent_kernel(const float* __restrict__ logits, int vocab, const int32_t* __restrict__ recent,
                                       int n_recent, float penalty, float temperature, float* __restrict__ scaled) {
    const int r = blockIdx.x * kElementwiseThreads + threadIdx.x;
    if (r >= n_recent) return;
    const int32_t id = recent[r];
    if (id < 0 || id >= vocab) return;  // empty ring-buffer slot
    const float logit = logits[id];
    scaled[id] = (logit > 0.0f ? logit / penalty : logit * penalty) / temperature;
}

// ---- selection from the sorted logits -----------------------------------------------------------------

struct FilterParams {
    int top_k_count;  // entries that survive top-k (vocab when it is off)
    bool use_top_p;
    float top_p;
    float min_p;
    uint64_t seed;
};

using BlockScan = cub::BlockScan<float, kBlockThreads>;
using FloatReduce = cub::BlockReduce<float, kBlockThreads>;
using IntReduce = cub::BlockReduce<int, kBlockThreads>;

struct SelectStorage {
    union {
        typename BlockScan::TempStorage scan;
        typename FloatReduce::TempStorage float_reduce;
        typename IntReduce::TempStorage int_reduce;
    } temp;
    float float_result;
    int int_result;
    uint64_t step;
};

struct Min {
    __device__ int operator()(int a, int b) const { return a < b ? a : b; }
};

// Block-wide results handed to every thread; the trailing barrier frees the storage for the next call.
__device__ float block_sum(float partial, SelectStorage& s) {
    const float total = FloatReduce(s.temp.float_reduce).Sum(partial);
    if (threadIdx.x == 0) s.float_result = total;
    __syncthreads();
    const float result = s.float_result;
    __syncthreads();
    return result;
}

__device__ int block_min(int partial, SelectStorage& s) {
    const int least = IntReduce(s.temp.int_reduce).Reduce(partial, Min());
    if (threadIdx.x == 0) s.int_result = least;
    __syncthreads();
    const int result = s.int_result;
    __syncthreads();
    return result;
}

// Unnormalised probability: exp(logit - max), so the best token weighs exactly 1.
__device__ float weight_of(float logit, float max_logit) {
    return expf(logit - max_logit);
}

__device__ float sum_of_weights(const float* sorted_logits, float max_logit, int count, SelectStorage& s) {
    float partial = 0.0f;
    for (int i = threadIdx.x; i < count; i += kBlockThreads) partial += weight_of(sorted_logits[i], max_logit);
    return block_sum(partial, s);
}

// Weights fall along the sorted order, so `keep` holds on a prefix: each thread stops at its first failure
// and the block takes the least. Returns the prefix length.
template <typename Keep>
__device__ int kept_prefix(const float* sorted_logits, float max_logit, int count, Keep keep, SelectStorage& s) {
    int first_dropped = INT_MAX;
    for (int i = threadIdx.x; i < count; i += kBlockThreads)
        if (!keep(weight_of(sorted_logits[i], max_logit))) {
            first_dropped = i;
            break;
        }
    return min(block_min(first_dropped, s), count);
}

// The first index whose inclusive running sum of weights satisfies `reached`, or count if none does.
// Scans 4096 entries at a time and stops at the first tile that reaches.
template <typename Reached>
__device__ int first_reaching(const float* sorted_logits, float max_logit, int count, Reached reached,
                              SelectStorage& s) {
    float carry = 0.0f;
    for (int tile = 0; tile < count; tile += kBlockThreads * kItemsPerThread) {
        const int first_item = tile + int(threadIdx.x) * kItemsPerThread;
        float weights[kItemsPerThread], running[kItemsPerThread];
#pragma unroll
        for (int j = 0; j < kItemsPerThread; ++j)
            weights[j] = first_item + j < count ? weight_of(sorted_logits[first_item + j], max_logit) : 0.0f;
        float tile_total;
        BlockScan(s.temp.scan).InclusiveSum(weights, running, tile_total);
        int hit = INT_MAX;
#pragma unroll
        for (int j = 0; j < kItemsPerThread; ++j)
            if (hit == INT_MAX && first_item + j < count && reached(carry + running[j])) hit = first_item + j;
        __syncthreads();  // the scan's storage becomes the reduction's
        hit = block_min(hit, s);
        if (hit != INT_MAX) return hit;
        carry += tile_total;
    }
    return count;
}

__global__ void __launch_bounds__(kBlockThreads)
    select_kernel(const float* __restrict__ sorted_logits, const int32_t* __restrict__ sorted_ids, FilterParams f,
                  uint64_t* step, int32_t* out_token) {
    __shared__ SelectStorage s;
    if (threadIdx.x == 0) s.step = *step;
    __syncthreads();
    const uint64_t draw = s.step;
    const float max_logit = sorted_logits[0];
    if (!isfinite(max_logit)) {  // exp(x - max) is undefined: no distribution to draw from
        if (threadIdx.x == 0) {
            *out_token = sorted_ids[0];
            *step = draw + 1;
        }
        return;
    }

    // min-p (p >= min_p * p_max is weight >= min_p) and weights that underflowed to 0, on the top-k prefix.
    const float min_p = f.min_p;
    const auto passes_min_p = [min_p](float w) { return w > 0.0f && w >= min_p; };
    int kept = kept_prefix(sorted_logits, max_logit, f.top_k_count, passes_min_p, s);
    if (f.use_top_p) {
        // Mass relative to the top-k survivors, as attn::Sampler; a cut beyond `kept` changes nothing.
        const float target = f.top_p * sum_of_weights(sorted_logits, max_logit, f.top_k_count, s);
        const auto reaches_top_p = [target](float sum) { return sum >= target; };
        const int last = first_reaching(sorted_logits, max_logit, kept, reaches_top_p, s);
        kept = min(kept, last + 1);
    }
    const float target = sampling_uniform(f.seed, draw) * sum_of_weights(sorted_logits, max_logit, kept, s);
    const auto passes_target = [target](float sum) { return target < sum; };
    int chosen = first_reaching(sorted_logits, max_logit, kept, passes_target, s);
    chosen = min(chosen, kept - 1);  // rounding left the target at the total
    if (threadIdx.x == 0) {
        *out_token = sorted_ids[chosen];
        *step = draw + 1;
    }
}

// ---- host side ----------------------------------------------------------------------------------------

size_t align_up(size_t bytes) {
    return (bytes + kAlignBytes - 1) / kAlignBytes * kAlignBytes;
}

// The workspace, from a kAlignBytes-aligned base: scaled logits and ids (sort input), their sorted copies,
// then CUB's scratch.
struct WorkspaceLayout {
    size_t array_bytes;  // one array of vocab floats or ids
    size_t sort_bytes;

    explicit WorkspaceLayout(int vocab) : array_bytes(align_up(size_t(vocab) * sizeof(float))), sort_bytes(0) {
        CUDA_CHECK(cub::DeviceRadixSort::SortPairsDescending(
            nullptr, sort_bytes, static_cast<const float*>(nullptr), static_cast<float*>(nullptr),
            static_cast<const int32_t*>(nullptr), static_cast<int32_t*>(nullptr), vocab));
    }
    size_t total_bytes() const { return kAlignBytes + 4 * array_bytes + sort_bytes; }  // + slack to align the base
};

int elementwise_blocks(int count) {
    return std::min((count + kElementwiseThreads - 1) / kElementwiseThreads, 1024);
}

}  // namespace

void argmax(const float* logits, int vocab, int32_t* out_token, cudaStream_t stream) {
    ATTN_ASSERT(vocab > 0);
    const bool vectorised = reinterpret_cast<uintptr_t>(logits) % sizeof(float4) == 0;
    argmax_kernel<<<1, kBlockThreads, 0, stream>>>(logits, vocab, vectorised, out_token);
    CUDA_CHECK_LAUNCH();
}

size_t sampling_workspace_bytes(int vocab) {
    return WorkspaceLayout(vocab).total_bytes();
}

void sample(const float* logits, int vocab, const int32_t* recent_tokens, int n_recent, const SamplingParams& params,
            uint64_t* step, void* workspace, size_t workspace_bytes, int32_t* out_token, cudaStream_t stream) {
    ATTN_ASSERT(vocab > 0);
    const WorkspaceLayout layout(vocab);
    ATTN_ASSERT(workspace_bytes >= layout.total_bytes());
    char* base = reinterpret_cast<char*>(align_up(reinterpret_cast<uintptr_t>(workspace)));
    float* scaled = reinterpret_cast<float*>(base);
    int32_t* ids = reinterpret_cast<int32_t*>(base + layout.array_bytes);
    float* sorted_logits = reinterpret_cast<float*>(base + 2 * layout.array_bytes);
    int32_t* sorted_ids = reinterpret_cast<int32_t*>(base + 3 * layout.array_bytes);
    void* sort_storage = base + 4 * layout.array_bytes;

    const bool greedy = params.temperature <= 0.0f;
    const bool penalise = params.repeat_penalty != 1.0f && n_recent > 0;
    if (greedy && !penalise) {
        argmax(logits, vocab, out_token, stream);
        return;
    }

    const float temperature = greedy ? 1.0f : params.temperature;  // x / 1 is exact: greedy sees penalised logits
    scale_logits_kernel<<<elementwise_blocks(vocab), kElementwiseThreads, 0, stream>>>(
        logits, vocab, temperature, scaled, greedy ? nullptr : ids);
    CUDA_CHECK_LAUNCH();
    if (penalise) {
        const int blocks = (n_recent + kElementwiseThreads - 1) / kElementwiseThreads;
        penalise_recent_kernel<<<blocks, kElementwiseThreads, 0, stream>>>(logits, vocab, recent_tokens, n_recent,
                                                                           params.repeat_penalty, temperature, scaled);
        CUDA_CHECK_LAUNCH();
    }
    if (greedy) {
        argmax(scaled, vocab, out_token, stream);
        return;
    }

    size_t sort_bytes = layout.sort_bytes;
    CUDA_CHECK(cub::DeviceRadixSort::SortPairsDescending(sort_storage, sort_bytes, scaled, sorted_logits, ids,
                                                         sorted_ids, vocab, 0, int(sizeof(float) * 8), stream));
    FilterParams filter;
    filter.top_k_count = params.top_k > 0 && params.top_k < vocab ? params.top_k : vocab;
    filter.use_top_p = params.top_p < 1.0f;
    filter.top_p = params.top_p;
    filter.min_p = params.min_p;
    filter.seed = params.seed;
    select_kernel<<<1, kBlockThreads, 0, stream>>>(sorted_logits, sorted_ids, filter, step, out_token);
    CUDA_CHECK_LAUNCH();
}

}  // namespace attn::cuda
