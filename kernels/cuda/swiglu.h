#pragma once
// The SwiGLU activation between the fused gate/up GEMM and the down projection. Reference: cpu::swiglu.
#include <cuda_fp16.h>
#include <cuda_runtime.h>

namespace attn::cuda {

// out[t][i] = silu(gate_up[t][i]) * gate_up[t][ffn + i] for n rows: each fp32 row holds the gate
// projection in [0, ffn) and the up projection in [ffn, 2 ffn); out is fp16 [n][ffn].
void swiglu(const float* gate_up, int n, int ffn, __half* out, cudaStream_t stream);

}  // namespace attn::cuda
