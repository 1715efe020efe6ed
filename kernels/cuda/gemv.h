#pragma once
// The projections of a decode step (a few tokens) as a bandwidth-bound GEMV: cuBLAS's GEMM does not reach
// memory bandwidth at n = 1, and these matrix-vector products are most of a decode step's bytes.
// Reference: cpu::matmul.
#include <cuda_runtime.h>

#include "kernels/cuda/element_type.cuh"

namespace attn::cuda {

// The most tokens gemv takes: one weight load then serves every token's dot product from registers.
constexpr int kGemvMaxTokens = 4;

// y[n][out] = x[n][in] · W[out][in]ᵀ + beta·y for 1 <= n <= kGemvMaxTokens, as linear() computes it: fp16 or
// bf16 inputs, fp32 accumulation and output, y not read when beta is 0. `in` a multiple of 8 with 16-byte
// aligned x and w streams W in 16-byte loads; any other shape or alignment takes a scalar path.
template <typename T>
void gemv(const T* x, int n, int in, const T* w, int out, float* y, float beta, cudaStream_t stream);

}  // namespace attn::cuda
