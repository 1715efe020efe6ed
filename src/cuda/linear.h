#pragma once
// y[n][out] = x[n][in] · W[out][in]ᵀ + beta·y with cuBLAS: fp16 inputs, fp32 accumulation and fp32 output,
// so beta = 1 adds a projection straight into the fp32 residual stream (no separate add kernel).
#include <cublas_v2.h>
#include <cuda_fp16.h>

namespace attn::cuda {

void linear(cublasHandle_t handle, const __half* x, int n, int in, const __half* w, int out, float* y, float beta = 0.0f);

}  // namespace attn::cuda
