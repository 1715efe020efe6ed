#pragma once
// Where the fused QKV epilogue (qkv_rope.h) writes one layer's keys and values: blocks in the byte layout of
// kernels/cpu/kv_quant.h. Cache row r is slot r % B of block r / B (B = layout.block_tokens), so the caller
// maps positions to rows (contiguous: row = position; paged: block_table[pos / B] · B + pos % B).
#include <cstdint>

#include "kernels/cpu/kv_quant.h"

namespace attn::cuda {

struct KvCacheWrite {
    cpu::KvBlockLayout layout;        // fp16, q8 or q4
    uint8_t* blocks = nullptr;        // the layer's block 0
    int64_t block_stride_bytes = 0;   // layout.block_bytes()
    float* pending_keys = nullptr;    // q4: [64][n_kv_heads][head_dim], the sequence's unfinished key group
    float* pending_values = nullptr;  // q4: the same group's values, rotated (attention.h's KvCacheView)
};

}  // namespace attn::cuda
