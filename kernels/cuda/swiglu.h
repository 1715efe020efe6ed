#pragma once
// The SwiGLU activation between the fused gate/up GEMM and the down projection. Reference: cpu::swiglu.
#include "kernels/cuda/element_type.cuh"
#include <cuda_runtime.h>

namespace attn::cuda {

// out[t][i] = silu(gate_up[t][i]) * gate_up[t][ffn + i] for n rows: each fp32 row holds the gate
// projection in [0, ffn) and the up projection in [ffn, 2 ffn); out is fp16/bf16 [n][ffn].
template <typename T>
void swiglu(const float* gate_up, int n, int ffn, T* out, cudaStream_t stream);

}  // namespace attn::cuda
