#pragma once
// The projections of a layer. y[n][out] = x[n][in] · W[out][in]ᵀ + beta·y: fp16 or bf16 inputs, fp32
// accumulation and output, so beta = 1 adds a projection straight into the fp32 residual stream (no separate
// add kernel). cuBLAS for prefill; for decode's few tokens the bandwidth-bound gemv (kernels/cuda/gemv.h),
// which also takes in the RMSNorm before a projection and the SwiGLU after one. Everything runs on the
// handle's stream.
#include <cublas_v2.h>

#include "kernels/cuda/element_type.cuh"

namespace attn::cuda {

template <typename T>
void linear(cublasHandle_t handle, const T* x, int n, int in, const T* w, int out, float* y, float beta = 0.0f);

// An RMSNorm of the fp32 residual stream, as a projection's input. `normed` is [n][in] scratch for the
// normalised rows where the norm runs as its own kernel (more tokens than gemv takes).
template <typename T>
struct NormedInput {
    const float* residual;
    const T* weight;
    float eps;
    T* normed;
};

// y = rms_norm(residual) · Wᵀ.
template <typename T>
void normed_linear(cublasHandle_t handle, const NormedInput<T>& input, int n, int in, const T* w, int out, float* y);

// out[n][ffn] = swiglu(rms_norm(residual) · W_gate_upᵀ), W_gate_up holding the ffn gate rows then the ffn up
// rows; `gate_up` is [n][2 ffn] fp32 scratch where they run as separate kernels.
template <typename T>
void normed_swiglu_linear(cublasHandle_t handle, const NormedInput<T>& input, int n, int in, const T* w_gate_up,
                          int ffn, T* out, float* gate_up);

}  // namespace attn::cuda
