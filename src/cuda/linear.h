#pragma once
// y[n][out] = x[n][in] · W[out][in]ᵀ + beta·y: fp16 or bf16 inputs, fp32 accumulation and output, so beta = 1
// adds a projection straight into the fp32 residual stream (no separate add kernel). cuBLAS for prefill; the
// bandwidth-bound gemv (kernels/cuda/gemv.h) for decode's few tokens, on the handle's stream.
#include <cublas_v2.h>

#include "kernels/cuda/element_type.cuh"

namespace attn::cuda {

template <typename T>
void linear(cublasHandle_t handle, const T* x, int n, int in, const T* w, int out, float* y, float beta = 0.0f);

}  // namespace attn::cuda
