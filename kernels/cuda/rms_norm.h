#pragma once
// RMSNorm of fp32 residual rows into the fp16/bf16 input of the next GEMM (Llama's input_layernorm,
// post_attention_layernorm and final norm). Reference: cpu::rms_norm.
#include "kernels/cuda/element_type.cuh"
#include <cuda_runtime.h>

namespace attn::cuda {

// out[t] = weight * (x[t] / sqrt(mean(x[t]²) + eps)) for n rows of `dim`; statistics in fp32.
template <typename T>
void rms_norm(const float* x, const T* weight, int n, int dim, float eps, T* out, cudaStream_t stream);

}  // namespace attn::cuda
