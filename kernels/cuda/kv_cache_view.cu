// Host-side checks of a KvCacheView (attention.h), shared by every GPU attention backend.
#include <cstdint>
#include <string>

#include "kernels/cuda/attention.h"

namespace attn::cuda {

void check_kv_block_bytes(const cpu::KvBlockLayout& layout) {
    if (layout.block_bytes() > INT32_MAX)
        throw Error("a KV cache block of " + std::to_string(layout.block_bytes()) +
                    " bytes (one per sequence and layer when contiguous); the GPU kernels take blocks under 2 GiB: "
                    "use --paged or a shorter context");
}

void validate_kv_cache_view(const KvCacheView& kv, int n_kv_heads, int head_dim) {
    if (!kv.in_blocks()) {
        if (!kv.k || !kv.v) throw Error("attention: the KV cache view has neither K/V rows nor blocks");
        return;
    }
    const cpu::KvBlockLayout& layout = kv.layout;
    if (layout.format == cpu::KvFormat::F32)
        throw Error("the GPU attention backends read fp16, q8 or q4 KV caches, not f32; use --kv-cache fp16");
    if (layout.n_kv_heads != n_kv_heads || layout.head_dim != head_dim)
        throw Error("attention: the KV cache holds " + std::to_string(layout.n_kv_heads) + " kv heads of " +
                    std::to_string(layout.head_dim) + " but the attention params say " + std::to_string(n_kv_heads) +
                    " of " + std::to_string(head_dim));
    cpu::check_kv_format(layout.format, head_dim);
    if (layout.block_tokens <= 0 || kv.blocks_per_seq <= 0 || kv.block_stride_bytes != layout.block_bytes())
        throw Error("attention: inconsistent KV cache blocks (" + std::to_string(layout.block_tokens) +
                    " tokens per block, " + std::to_string(kv.blocks_per_seq) + " blocks per sequence, stride " +
                    std::to_string(kv.block_stride_bytes) + " bytes for blocks of " +
                    std::to_string(layout.block_bytes()) + ")");
    check_kv_block_bytes(layout);
    const bool one_block_per_sequence = !kv.block_tables && kv.blocks_per_seq == 1;
    if (!one_block_per_sequence && (layout.block_tokens & (layout.block_tokens - 1)) != 0)
        throw Error("attention: KV cache blocks of " + std::to_string(layout.block_tokens) +
                    " tokens; the GPU kernels need a power of two (they locate a position's block by a shift)");
    if (layout.keys_by_channel() &&
        (!kv.pending_keys || !kv.pending_values || layout.block_tokens % cpu::kQ4KeyGroup != 0))
        throw Error("attention: a q4 KV cache needs its pending keys and values and blocks of a multiple of " +
                    std::to_string(cpu::kQ4KeyGroup) + " tokens");
    const bool quantized = layout.format == cpu::KvFormat::Q8 || layout.format == cpu::KvFormat::Q4;
    if (kv.fresh_keys && (!kv.fresh_values || kv.fresh_stride < head_dim || !quantized))
        throw Error("attention: fresh rows need keys, values and a row stride, and a q8 or q4 cache");
}

}  // namespace attn::cuda
