// SwiGLU: a grid-stride loop over groups of kVec outputs, silu(g) * u = g / (1 + exp(-g)) * u in fp32
// (full-precision expf), rounded once to fp16/bf16. ffn a multiple of 4 (and aligned buffers) use float4
// loads and 8-byte stores; any ffn works.
#include "kernels/cuda/swiglu.h"

#include <algorithm>
#include <cstdint>

#include "kernels/cuda/vector_access.cuh"
#include "src/cuda/check.h"

namespace attn::cuda {
namespace {

constexpr int kThreads = 256;
constexpr int kMaxBlocks = 8192;  // grid-stride beyond this: enough to fill any current GPU

template <typename T, int kVec>
__global__ void swiglu_kernel(const float* __restrict__ gate_up, int64_t n_groups, int ffn, T* __restrict__ out) {
    const int groups_per_row = ffn / kVec;
    for (int64_t g = blockIdx.x * int64_t(kThreads) + threadIdx.x; g < n_groups; g += int64_t(gridDim.x) * kThreads) {
        const int64_t t = g / groups_per_row;
        const int i = int(g - t * groups_per_row) * kVec;
        const float* gate_row = gate_up + t * 2 * ffn;
        const FloatVec<kVec> gate = *reinterpret_cast<const FloatVec<kVec>*>(gate_row + i);
        const FloatVec<kVec> up = *reinterpret_cast<const FloatVec<kVec>*>(gate_row + ffn + i);
        ElementVec<T, kVec> o;
#pragma unroll
        for (int j = 0; j < kVec; ++j) o.v[j] = from_float<T>(gate.v[j] / (1.0f + expf(-gate.v[j])) * up.v[j]);
        *reinterpret_cast<ElementVec<T, kVec>*>(out + t * ffn + i) = o;
    }
}

template <typename T, int kVec>
void launch(const float* gate_up, int n, int ffn, T* out, cudaStream_t stream) {
    const int64_t n_groups = int64_t(n) * (ffn / kVec);
    const int blocks = int(std::min<int64_t>((n_groups + kThreads - 1) / kThreads, kMaxBlocks));
    swiglu_kernel<T, kVec><<<blocks, kThreads, 0, stream>>>(gate_up, n_groups, ffn, out);
    CUDA_CHECK_LAUNCH();
}

}  // namespace

template <typename T>
void swiglu(const float* gate_up, int n, int ffn, T* out, cudaStream_t stream) {
    if (n == 0 || ffn == 0) return;
    if (ffn % 4 == 0 && aligned(gate_up, 16) && aligned(out, 8))
        launch<T, 4>(gate_up, n, ffn, out, stream);
    else
        launch<T, 1>(gate_up, n, ffn, out, stream);
}

template void swiglu(const float*, int, int, __half*, cudaStream_t);
template void swiglu(const float*, int, int, __nv_bfloat16*, cudaStream_t);

}  // namespace attn::cuda
