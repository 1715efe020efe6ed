#pragma once
// Everything between the fused QKV GEMM and attention, in one pass: bias, Qwen3's per-head q/k RMSNorm,
// rotary embedding of q and k, and the fp16/bf16 writes of q and of k/v into their KV-cache rows.
// References: cpu::rms_norm per head, cpu::apply_rope (HF rotate_half pairing i with i + head_dim/2).
#include <cstdint>

#include "kernels/cuda/element_type.cuh"
#include <cuda_runtime.h>

namespace attn::cuda {

template <typename T>
struct QkvRopeParams {
    int n_tokens = 0;
    int n_heads = 0;
    int n_kv_heads = 0;
    int head_dim = 0;                  // even, at most 256
    const T* bias = nullptr;           // [q_dim + 2 kv_dim] or null
    const T* q_norm = nullptr;         // [head_dim] or null: RMSNorm of each q head (Qwen3)
    const T* k_norm = nullptr;         // [head_dim] or null: RMSNorm of each k head
    float eps = 1e-6f;                 // of q_norm / k_norm
    const float* inv_freq = nullptr;   // device, [head_dim / 2], from cpu::RopeTable (every scaling type)
    float attention_factor = 1.0f;     // multiplies cos and sin (yarn)
    const int* positions = nullptr;    // device, [n_tokens]
    const int64_t* cache_rows = nullptr;  // device, [n_tokens]: KV-cache row of each token
};

// qkv: fp32 [n_tokens][q_dim + 2 kv_dim], the q heads then the k heads then the v heads.
// Writes q_out[t][h][d] (T, [n_tokens][n_heads][head_dim]) and, with kv_dim = n_kv_heads * head_dim,
// k_cache[cache_rows[t] * kv_dim + h * head_dim + d] (same for v_cache); other cache rows are untouched.
// Throws attn::Error for a head_dim the kernel does not support.
template <typename T>
void qkv_bias_norm_rope(const QkvRopeParams<T>& params, const float* qkv, T* q_out, T* k_cache, T* v_cache,
                        cudaStream_t stream);

}  // namespace attn::cuda
