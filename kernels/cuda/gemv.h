#pragma once
// The projections of a decode step (a few tokens) as a bandwidth-bound GEMV: cuBLAS's GEMM does not reach
// memory bandwidth at n = 1, and these matrix-vector products are most of a decode step's bytes. The GEMV
// also absorbs the small kernels around the projections, which cost a decode step more in launches than in
// bytes: the RMSNorm before it (input read from the fp32 residual stream) and the SwiGLU after it.
// Reference: cpu::matmul (with cpu::rms_norm before it and cpu::swiglu after it).
#include <cuda_runtime.h>

#include "kernels/cuda/element_type.cuh"

namespace attn::cuda {

// The most tokens gemv takes: one weight load then serves every token's dot product from registers.
constexpr int kGemvMaxTokens = 4;

// What W multiplies: x, or (x null) RMSNorm(residual) = residual / rms(residual) · norm_weight.
template <typename T>
struct GemvInput {
    const T* x = nullptr;              // [n][in]
    const float* residual = nullptr;   // [n][in], fp32
    const T* norm_weight = nullptr;    // [in]
    float eps = 0.0f;
};

// Where the product p = input · Wᵀ ([n][out], fp32 sums) goes: y = p + beta·y (y not read at beta 0, as in
// cuBLAS), or (y null) swiglu[t][i] = silu(p[t][i]) · p[t][out/2 + i], W holding the gate rows then the up
// rows (out even), rounded once to T.
template <typename T>
struct GemvOutput {
    float* y = nullptr;  // [n][out]
    float beta = 0.0f;
    T* swiglu = nullptr;  // [n][out / 2]
};

// For 1 <= n <= kGemvMaxTokens. `in` a multiple of 8 with 16-byte aligned inputs streams W in 16-byte
// loads; any other shape or alignment takes a scalar path.
template <typename T>
void gemv(const GemvInput<T>& input, int n, int in, const T* w, int out, const GemvOutput<T>& output,
          cudaStream_t stream);

}  // namespace attn::cuda
