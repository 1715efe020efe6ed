// Embedding gather: one block per token copies its table row, widening fp16/bf16 to fp32.
// Rows whose length is a multiple of 8 (and aligned) move 16 bytes of table per thread and load; others
// go one element at a time. Any hidden size works.
#include "kernels/cuda/embedding.h"

#include <cstdint>

#include "kernels/cuda/vector_access.cuh"
#include "src/cuda/check.h"

namespace attn::cuda {
namespace {

constexpr int kThreads = 256;

// kVec consecutive elements per thread; kVec = 8 turns into one 16-byte load and two 16-byte stores.
template <typename T, int kVec>
__global__ void embedding_kernel(const T* __restrict__ table, const int32_t* __restrict__ ids, int hidden,
                                 float* __restrict__ out) {
    const int t = blockIdx.x;
    const auto* src = reinterpret_cast<const ElementVec<T, kVec>*>(table + int64_t(ids[t]) * hidden);
    auto* dst = reinterpret_cast<FloatVec<kVec>*>(out + int64_t(t) * hidden);
    for (int i = threadIdx.x; i < hidden / kVec; i += kThreads) {
        const ElementVec<T, kVec> h = src[i];
        FloatVec<kVec> f;
#pragma unroll
        for (int j = 0; j < kVec; ++j) f.v[j] = to_float(h.v[j]);
        dst[i] = f;
    }
}

}  // namespace

template <typename T>
void embedding_lookup(const T* table, const int32_t* ids, int n, int hidden, float* out, cudaStream_t stream) {
    if (n == 0) return;
    if (hidden % 8 == 0 && aligned(table, 16) && aligned(out, 32))
        embedding_kernel<T, 8><<<n, kThreads, 0, stream>>>(table, ids, hidden, out);
    else
        embedding_kernel<T, 1><<<n, kThreads, 0, stream>>>(table, ids, hidden, out);
    CUDA_CHECK_LAUNCH();
}

template void embedding_lookup(const __half*, const int32_t*, int, int, float*, cudaStream_t);
template void embedding_lookup(const __nv_bfloat16*, const int32_t*, int, int, float*, cudaStream_t);

}  // namespace attn::cuda
