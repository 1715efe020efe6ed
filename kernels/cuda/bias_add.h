#pragma once
// x[t][i] += bias[i] for n rows: the o_proj bias of Llama's attention_bias, added after the GEMM that
// accumulates the projection straight into the fp32 residual.
#include "kernels/cuda/element_type.cuh"
#include <cuda_runtime.h>

namespace attn::cuda {

template <typename T>
void add_bias(float* x, const T* bias, int n, int dim, cudaStream_t stream);

}  // namespace attn::cuda
