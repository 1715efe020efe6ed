#pragma once
// Small per-token operations of the Llama block, in fp32: the references for the fused CUDA kernels.
namespace attn::cpu {

// out[t] = x[t] / sqrt(mean(x[t]²) + eps) * weight, for n rows of `dim` (Llama's RMSNorm, fp32 variance).
void rms_norm(const float* x, const float* weight, int n, int dim, float eps, float* out);

// out[i] = silu(gate[i]) * up[i] (the SwiGLU MLP).
void swiglu(const float* gate, const float* up, float* out, int count);

void add_inplace(float* x, const float* y, int count);

}  // namespace attn::cpu
