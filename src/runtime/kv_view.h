#pragma once
// How attention sees one layer's keys and values for one sequence: it asks for a row (one position, one
// kv head) as fp32, never for a memory layout.
//  - f32 contiguous ([pos][kv_head][head_dim], `k`/`v` set): the row is read in place (the fast path);
//  - any other cache (`blocks`): fp16/q8/q4 rows are decoded into the caller's `scratch` (head_dim floats)
//    and f32 rows are read in place, so no full-precision copy of the cache ever exists.
#include <cstdint>

#include "kernels/cpu/kv_quant.h"

namespace attn {

// One layer's rows in blocks of layout.block_tokens positions (byte layout: kernels/cpu/kv_quant.h).
struct KvBlockView {
    cpu::KvBlockLayout layout;
    const uint8_t* base = nullptr;  // the layer's block 0
    int64_t block_stride_bytes = 0;
    const int32_t* block_table = nullptr;  // block of positions [i·B, (i+1)·B); nullptr: block i is base + i·stride
    // q4: the last cpu::kQ4KeyGroup (64) positions written (from `recent_first` on) are also kept exact, in
    // rings indexed by pos % 64 ([64][kv_head][head_dim]): keys wait there for their group to fill anyway, and the
    // newest keys and values are what attention weighs most.
    const float* recent_keys = nullptr;
    const float* recent_values = nullptr;
    int recent_first = 0;
    // The rows a forward call has just written, as it computed them ([pos - fresh_first][kv_head][head_dim]),
    // for positions from `fresh_first` on: a chunk's queries attend their own chunk's keys and values exactly
    // and earlier positions as the cache holds them, as a prefill over the fresh K/V tensors does.
    const float* fresh_keys = nullptr;
    const float* fresh_values = nullptr;
    int fresh_first = 0;

    const float* row(bool is_value, int pos, int kv_head, float* scratch) const {
        if (fresh_keys && pos >= fresh_first)
            return (is_value ? fresh_values : fresh_keys) +
                   (int64_t(pos - fresh_first) * layout.n_kv_heads + kv_head) * layout.head_dim;
        return recent_keys && pos >= recent_first ? recent_row(is_value, pos, kv_head)
                                                  : stored_row(is_value, pos, kv_head, scratch);
    }
    // The row as the blocks encode it (decoded into scratch).
    const float* stored_row(bool is_value, int pos, int kv_head, float* scratch) const {
        const int block = pos / layout.block_tokens;
        const uint8_t* bytes = base + (block_table ? block_table[block] : block) * block_stride_bytes;
        return cpu::load_kv_row(layout, bytes, is_value, pos % layout.block_tokens, kv_head, scratch);
    }
    // The exact row of one of the last kQ4KeyGroup positions (q4).
    const float* recent_row(bool is_value, int pos, int kv_head) const {
        return (is_value ? recent_values : recent_keys) +
               (int64_t(pos % cpu::kQ4KeyGroup) * layout.n_kv_heads + kv_head) * layout.head_dim;
    }
};

struct KvView {
    const float* k = nullptr;  // f32 contiguous rows, or nullptr when `blocks` holds the rows
    const float* v = nullptr;
    int64_t token_stride = 0;  // floats between consecutive positions (f32 contiguous)
    int head_dim = 0;
    int length = 0;  // positions held: 0 .. length-1
    KvBlockView blocks;

    // Positions [first, length) are read from `k_rows`/`v_rows` ([pos - first][kv_head][head_dim]), the rows
    // just written there, wherever the cache holds them in another form.
    void attend_fresh_rows(const float* k_rows, const float* v_rows, int first) {
        if (k) return;  // f32 rows in place: already exact
        blocks.fresh_keys = k_rows;
        blocks.fresh_values = v_rows;
        blocks.fresh_first = first;
    }

    // `scratch` (head_dim floats) receives the row when it has to be decoded; use the returned pointer.
    const float* key(int pos, int kv_head, float* scratch) const {
        return k ? k + pos * token_stride + int64_t(kv_head) * head_dim : blocks.row(false, pos, kv_head, scratch);
    }
    const float* value(int pos, int kv_head, float* scratch) const {
        return v ? v + pos * token_stride + int64_t(kv_head) * head_dim : blocks.row(true, pos, kv_head, scratch);
    }
};

}  // namespace attn
