// RMSNorm: one 256-thread block per row sums squares in fp32 (a block reduction), then scales the row
// again from global memory (the second read hits L1/L2). Rows whose length is a multiple of 4 (and
// aligned) use float4 loads and 8-byte fp16/bf16 stores; any dim works, sized for up to 16384.
#include "kernels/cuda/rms_norm.h"

#include <cstdint>

#include <cub/block/block_reduce.cuh>

#include "kernels/cuda/vector_access.cuh"
#include "src/cuda/check.h"

namespace attn::cuda {
namespace {

constexpr int kThreads = 256;

template <typename T, int kVec>
__global__ void rms_norm_kernel(const float* __restrict__ x, const T* __restrict__ weight, int dim, float eps,
                                T* __restrict__ out) {
    using BlockReduce = cub::BlockReduce<float, kThreads>;
    __shared__ typename BlockReduce::TempStorage reduce_storage;
    __shared__ float inv_rms_shared;

    const auto* row = reinterpret_cast<const FloatVec<kVec>*>(x + int64_t(blockIdx.x) * dim);
    const auto* w = reinterpret_cast<const ElementVec<T, kVec>*>(weight);
    auto* dst = reinterpret_cast<ElementVec<T, kVec>*>(out + int64_t(blockIdx.x) * dim);
    const int n_vec = dim / kVec;

    float sum_sq = 0.0f;
    for (int i = threadIdx.x; i < n_vec; i += kThreads) {
        const FloatVec<kVec> a = row[i];
#pragma unroll
        for (int j = 0; j < kVec; ++j) sum_sq += a.v[j] * a.v[j];
    }
    sum_sq = BlockReduce(reduce_storage).Sum(sum_sq);
    // Same expression as the CPU reference: 1 / sqrt(mean + eps), not rsqrtf's approximation.
    if (threadIdx.x == 0) inv_rms_shared = 1.0f / sqrtf(sum_sq / float(dim) + eps);
    __syncthreads();
    const float inv_rms = inv_rms_shared;

    for (int i = threadIdx.x; i < n_vec; i += kThreads) {
        const FloatVec<kVec> a = row[i];
        const ElementVec<T, kVec> g = w[i];
        ElementVec<T, kVec> o;
#pragma unroll
        for (int j = 0; j < kVec; ++j) o.v[j] = from_float<T>(to_float(g.v[j]) * (a.v[j] * inv_rms));
        dst[i] = o;
    }
}

}  // namespace

template <typename T>
void rms_norm(const float* x, const T* weight, int n, int dim, float eps, T* out, cudaStream_t stream) {
    if (n == 0) return;
    if (dim % 4 == 0 && aligned(x, 16) && aligned(weight, 8) && aligned(out, 8))
        rms_norm_kernel<T, 4><<<n, kThreads, 0, stream>>>(x, weight, dim, eps, out);
    else
        rms_norm_kernel<T, 1><<<n, kThreads, 0, stream>>>(x, weight, dim, eps, out);
    CUDA_CHECK_LAUNCH();
}

template void rms_norm(const float*, const __half*, int, int, float, __half*, cudaStream_t);
template void rms_norm(const float*, const __nv_bfloat16*, int, int, float, __nv_bfloat16*, cudaStream_t);

}  // namespace attn::cuda
