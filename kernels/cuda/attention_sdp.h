#pragma once
// Attention as PyTorch's math path computes it: S = scale·Q·Kᵀ (cuBLAS, T = fp16/bf16 in, fp32 scores), a
// masked softmax kernel writing P in T, then O = P·V (cuBLAS, fp32 accumulation). Sequences are handled one at a
// time from the host copies params.h_q_offsets / h_kv_lens, in chunks of (kv heads, query rows) whose score
// matrix fits the workspace. Limits: any head_dim, any lengths the workspace allows one query row of.
// cuBLAS reads strided caches of T in place; a cache in blocks (paged, q8, q4: params.kv_in_blocks) is
// decoded chunk by chunk into K/V of T in the workspace first (kv_decode_rows.h), head_dim up to 256.
#include <cstddef>
#include <string>

#include <cublas_v2.h>

#include "kernels/cuda/attention.h"

namespace attn::cuda {

// One chunk: `kv_heads` kv heads (with all the query heads of their groups) × `query_rows` query tokens ×
// at most `key_cols` keys. Workspace layout, at the byte offsets below: fp32 scores and T probabilities
// [query heads][query rows][key cols], T Q and O staging [query heads][query rows][head_dim], and for a
// cache in blocks the decoded K and V in T [key cols][kv heads][head_dim].
struct SdpChunkPlan {
    int kv_heads = 0;
    int query_rows = 0;
    int key_cols = 0;
    size_t scores_offset = 0;
    size_t probs_offset = 0;
    size_t q_offset = 0;
    size_t out_offset = 0;
    size_t k_offset = 0;  // decoded K and V: only with params.kv_in_blocks
    size_t v_offset = 0;
    size_t bytes = 0;
};

// Workspace bytes a chunk of `kv_heads` × `query_rows` needs for these params.
size_t sdp_chunk_bytes(const AttentionParams& params, int kv_heads, int query_rows);

// The largest chunk within cap_bytes: all kv heads at max_q_len rows if it fits, else as many kv heads as fit,
// else one kv head and as many rows as fit. Throws attn::Error naming naive when not even one row fits.
SdpChunkPlan plan_sdp_chunks(const AttentionParams& params, size_t cap_bytes);

// What plan_sdp_chunks(params, cap_bytes) uses: pass it as the workspace size.
size_t attention_sdp_workspace_bytes(const AttentionParams& params, size_t cap_bytes);

// One line for the log: the workspace size and the chunk it holds.
std::string describe_sdp_workspace(const AttentionParams& params, size_t cap_bytes);

// Needs params.h_q_offsets and h_kv_lens (throws attn::Error naming naive without them) and a workspace of
// attention_sdp_workspace_bytes(params, cap) for some cap; the chunking follows from workspace.bytes.
// Sets the cuBLAS handle's stream to `stream`; the handle must be in host pointer mode (the default).
template <typename T>
void attention_sdp(const AttentionParams& params, const T* q, const KvCacheView& kv, T* out,
                   const Workspace& workspace, cublasHandle_t cublas, cudaStream_t stream);

}  // namespace attn::cuda
