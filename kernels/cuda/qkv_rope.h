#pragma once
// Everything between the fused QKV GEMM and attention, in one pass: bias, Qwen3's per-head q/k RMSNorm,
// rotary embedding of q and k, and the writes of q (T: fp16 or bf16) and of k/v into their KV-cache rows in the
// cache's format (16-bit T, q8, q4: kernels/cpu/kv_quant.h; the encoders are kv_store.cuh and kv_key_groups.cu).
// References: cpu::rms_norm per head, cpu::apply_rope (HF rotate_half pairing i with i + head_dim/2).
#include <cstdint>

#include <cuda_runtime.h>

#include "kernels/cuda/element_type.cuh"
#include "kernels/cuda/kv_cache_write.h"

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
    const int64_t* cache_rows = nullptr;  // device, [n_tokens]: KV-cache row of each token (kv_cache_write.h)
};

// qkv: fp32 [n_tokens][q_dim + 2 kv_dim], the q heads then the k heads then the v heads.
// Writes q_out[t][h][d] (T, [n_tokens][n_heads][head_dim]) and the K/V rows cache_rows[t] of `cache`;
// other cache rows are untouched. q8 and q4 caches: the rows as encoded (keys with bias, norm and RoPE; values
// with bias, rotated for q4) are also written back over qkv's k and v columns in fp32, from where attention
// reads the call's own positions exact (KvCacheView::attend_fresh_rows). q4 caches: the tokens must be
// consecutive positions of one sequence; a second kernel encodes every group of 64 positions this call
// completes from the keys in qkv and keeps the rest in cache.pending_keys; the values of that unfinished
// group also go to cache.pending_values, rotated (positions are read on the device, so a captured decode
// graph stays valid). Throws attn::Error for a head_dim the kernel or the format cannot hold.
template <typename T>
void qkv_bias_norm_rope(const QkvRopeParams<T>& params, float* qkv, T* q_out, const KvCacheWrite& cache,
                        cudaStream_t stream);

}  // namespace attn::cuda
