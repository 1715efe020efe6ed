#pragma once
// CPU attention, three algorithms over the same inputs:
//  naive — plain loops with double accumulation: the reference every other backend is tested against;
//  sdp   — PyTorch's math path: the whole score matrix, a masked softmax, then P·V;
//  tiled — FlashAttention's online softmax over key tiles (what the flash and xformers backends compute),
//          skipping tiles that the causal / sliding-window mask hides entirely.
// Queries are the newest n_q tokens: query i sits at position kv.length - n_q + i.
// K/V rows come through KvView, which decodes fp16/q8/q4 rows into per-thread scratch; sdp and tiled decode
// each row once per head (tiled: once per query tile), naive once per use.
#include "src/runtime/kv_view.h"
#include "src/runtime/thread_pool.h"

namespace attn::cpu {

struct AttentionShape {
    int n_heads = 0;
    int n_kv_heads = 0;  // GQA/MQA: query head h reads kv head h / (n_heads / n_kv_heads)
    int head_dim = 0;
    float scale = 0;     // usually 1/sqrt(head_dim)
    bool causal = true;
    int window = 0;      // 0: none; else key j is visible from position p only when p - j < window

    bool visible(int query_pos, int key_pos) const {
        return (!causal || key_pos <= query_pos) && (window <= 0 || query_pos - key_pos < window);
    }
};

// q, out: [n_q][n_heads][head_dim].
void attention_naive(const AttentionShape& shape, const float* q, int n_q, const KvView& kv, float* out, ThreadPool& pool);
void attention_sdp(const AttentionShape& shape, const float* q, int n_q, const KvView& kv, float* out, ThreadPool& pool);
void attention_tiled(const AttentionShape& shape, const float* q, int n_q, const KvView& kv, float* out, ThreadPool& pool,
                     int query_tile = 16, int key_tile = 32);

}  // namespace attn::cpu
