#pragma once
// Where one lane of the split-K decode kernel (flash_decode.cu) finds its 8 elements of a position's K and V
// rows, for each arrangement of attention.h's KvCacheView; which one is a template parameter of the kernel,
// chosen by the host from kv.in_blocks(), so that the strided kernel carries none of the block arithmetic and
// its loop is a pointer increment and a 16-byte load. Everything that does not depend on the position (the
// kv head, the lane's element offset, the layout's offsets) is computed once per thread. The kernel reads
// aligned spans of a power of two of keys: when one block holds the span (q4: always a group of 32, q4 blocks
// holding whole key groups; else blocks at least as large as the span) its block is looked up once
// (span_block) and a position costs a mask; else a shift and, when paged, a block-table load (block sizes are
// powers of two: validate_kv_cache_view).
#include <cstdint>

#include "kernels/cuda/kv_format.cuh"

namespace attn::cuda {

struct KvLaneAddress {
    const uint8_t* k_codes;
    const uint8_t* v_codes;
    const __half* k_scale;  // q8 keys: the scale of the lane's 32-element group
    const __half* v_scale;  // q8 values: the same; q4 values: the row's
};

// 16-bit rows of T: k[seq * seq_stride + pos * token_stride + kv_head * head_dim + d].
template <typename T>
struct StridedKvRows {
    const T* k;
    const T* v;
    int64_t token_stride;

    __device__ __forceinline__ StridedKvRows(const KvCacheView& kv, int seq, int kv_head, int head_dim, int d0, int)
        : k(static_cast<const T*>(kv.k) + seq * kv.seq_stride + int64_t(kv_head) * head_dim + d0),
          v(static_cast<const T*>(kv.v) + seq * kv.seq_stride + int64_t(kv_head) * head_dim + d0),
          token_stride(kv.token_stride) {}

    __device__ __forceinline__ const uint8_t* span_block(int, int) const { return nullptr; }
    __device__ __forceinline__ KvLaneAddress locate(int pos, const uint8_t*) const {
        return {reinterpret_cast<const uint8_t*>(k + pos * token_stride),
                reinterpret_cast<const uint8_t*>(v + pos * token_stride), nullptr, nullptr};
    }
};

// Blocks in the byte layout of kv_quant.h (format F), paged or contiguous. block_shift: log2 of the block size,
// or 31 when a sequence is one block (contiguous), so that pos >> block_shift is its block within the sequence.
template <KvFormat F>
struct BlockKvRows {
    const uint8_t* blocks;
    const int32_t* table;  // the sequence's block table; null: its blocks follow first_block
    int first_block;
    int block_shift;
    int64_t block_stride;
    // Byte offsets inside a block, 32-bit (validate_kv_cache_view: blocks are under 2 GiB): a position's
    // address is one 32-bit multiply-add and one 64-bit add.
    uint32_t k_codes, v_codes, k_scales, v_scales;  // of slot 0's lane elements
    uint32_t code_stride, scale_stride;             // bytes between slots
    uint32_t channel_params;                        // q4: the lane's channel scales of group 0 (minimums follow)
    uint32_t channel_params_stride;                 // q4: bytes between key groups (cpu::kQ4KeyGroup slots)
    int pending_offset;                            // q4: floats from a pending buffer to the lane's elements of
                                                   // the sequence's first pending row
    int pending_stride;                            // floats between pending positions

    __device__ __forceinline__ BlockKvRows(const KvCacheView& kv, int seq, int kv_head, int head_dim, int d0,
                                           int shift)
        : blocks(kv.blocks),
          table(kv.block_tables ? kv.block_tables + int64_t(seq) * kv.blocks_per_seq : nullptr),
          first_block(seq * kv.blocks_per_seq),
          block_shift(shift),
          block_stride(kv.block_stride_bytes) {
        const cpu::KvBlockLayout& layout = kv.layout;
        const uint32_t lane_codes = d0 * layout.row_code_bytes() / head_dim;
        const uint32_t lane_scales = F == KvFormat::Q8 ? d0 / cpu::kKvGroup * sizeof(__half) : 0;
        k_codes = uint32_t(layout.codes_offset(false, 0, kv_head)) + lane_codes;
        v_codes = uint32_t(layout.codes_offset(true, 0, kv_head)) + lane_codes;
        code_stride = uint32_t(layout.codes_offset(false, 1, 0) - layout.codes_offset(false, 0, 0));
        k_scales = uint32_t(layout.row_scales_offset(false, 0, kv_head)) + lane_scales;
        v_scales = uint32_t(layout.row_scales_offset(true, 0, kv_head)) + lane_scales;
        scale_stride = uint32_t(layout.row_scales_offset(true, 1, 0) - layout.row_scales_offset(true, 0, 0));  // q8 keys too
        if constexpr (F == KvFormat::Q4) {
            channel_params = uint32_t(layout.key_channel_params_offset(0, kv_head)) + d0 * sizeof(__half);
            channel_params_stride =
                uint32_t(layout.key_channel_params_offset(cpu::kQ4KeyGroup, 0) - layout.key_channel_params_offset(0, 0));
            pending_stride = layout.n_kv_heads * head_dim;
            pending_offset = seq * cpu::kQ4KeyGroup * pending_stride + kv_head * head_dim + d0;
        }
    }

    __device__ __forceinline__ const uint8_t* block_of(int pos) const {
        const int index = pos >> block_shift;
        const int block = table ? __ldg(table + index) : first_block + index;
        return blocks + block * block_stride;
    }
    __device__ __forceinline__ uint32_t slot_of(int pos) const { return uint32_t(pos) & ((1u << block_shift) - 1u); }

    // The block that holds positions [first, first + 2^span_shift) (first aligned to the span), or null when
    // they lie in several. q4 blocks hold whole key groups (validate_kv_cache_view).
    __device__ __forceinline__ const uint8_t* span_block(int first, int span_shift) const {
        return (F == KvFormat::Q4 && span_shift <= 5) || block_shift >= span_shift ? block_of(first) : nullptr;
    }
    // span_block: span_block() of a span that holds pos (q4: never null).
    __device__ __forceinline__ KvLaneAddress locate(int pos, const uint8_t* span_block) const {
        const uint8_t* block = F == KvFormat::Q4 || span_block ? span_block : block_of(pos);
        const uint32_t slot = slot_of(pos);
        return {block + (k_codes + slot * code_stride), block + (v_codes + slot * code_stride),
                reinterpret_cast<const __half*>(block + (k_scales + slot * scale_stride)),
                reinterpret_cast<const __half*>(block + (v_scales + slot * scale_stride))};
    }

    // q4: the lane's 8 channel scales for the key group that holds `first` (in `block`); the minimums follow
    // head_dim halves later.
    __device__ __forceinline__ const __half* channel_scales(const uint8_t* block, int first) const {
        const uint32_t group = slot_of(first) / cpu::kQ4KeyGroup;
        return reinterpret_cast<const __half*>(block + (channel_params + group * channel_params_stride));
    }
    // q4: the lane's elements of the pending key (or value) at `pos` (fp32). kv: the view the rows were made of
    // (its pointers are kernel parameters: no registers held for them).
    __device__ __forceinline__ const float* pending_row(const KvCacheView& kv, int pos, bool is_value) const {
        return (is_value ? kv.pending_values : kv.pending_keys) + pending_offset +
               (pos % cpu::kQ4KeyGroup) * pending_stride;
    }
};

}  // namespace attn::cuda
