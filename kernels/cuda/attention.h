#pragma once
// GPU attention interface shared by every backend (naive, sdp, flash, xformers).
// Queries are packed varlen, as FlashAttention's varlen API: sequence b owns query rows
// [q_offsets[b], q_offsets[b+1]) of q/out ([total_q][n_heads][head_dim], of element type T = __half, or
// __nv_bfloat16 on sm_80+), and its query i sits at
// position kv_lens[b] - q_len(b) + i, i.e. queries are the newest tokens of the sequence (prefill: q_len =
// kv_len; decode: q_len = 1). Keys/values are read through KvCacheView so that the paged and quantized
// cache layouts are a change of view, not a copy of every kernel.
#include <cstddef>
#include <cstdint>
#include <string>

#include <cuda_runtime.h>

#include "kernels/cpu/kv_quant.h"
#include "kernels/cuda/element_type.cuh"
#include "src/common/error.h"

namespace attn::cuda {

// One layer of the KV cache for a batch of sequences, in one of two forms:
//  - strided rows of the attention's element type T (`blocks` null):
//    k[b * seq_stride + pos * token_stride + kv_head * head_dim + d];
//  - blocks in the byte layout of kernels/cpu/kv_quant.h (fp16, q8 or q4; paged or contiguous): sequence b's
//    position pos lives in slot pos % B of block block_tables[b * blocks_per_seq + pos / B], or without a
//    table (contiguous) of block b * blocks_per_seq + pos / B. q4 keys and values of the last, unfinished
//    group of 64 positions (pos >= kv_len / 64 * 64) are read exact (fp32) from pending_keys and
//    pending_values instead: the keys wait there for their group to be encoded, and the newest values are
//    those attention weighs most (docs/KV_CACHE.md). q4 values are stored rotated (kv_quant.h), pending ones
//    too; every backend undoes the rotation before it writes its output.
//    Fresh rows (q8, q4; set by attend_fresh_rows): a call's own positions, kv_len - q_len .. kv_len - 1 of
//    each sequence, are read exact (fp32) from the rows the QKV kernel has just computed instead of the codes
//    it wrote, as a prefill over the fresh K/V tensors does; earlier positions come from the cache. The
//    position of query row r has its key at fresh_keys + r * fresh_stride + kv_head * head_dim and its value
//    (rotated for q4) at fresh_values + ... alike. The prefill kernels read them; the split-K decode (one
//    query row a sequence, whose newest q4 key and value are pending anyway) refuses a view that has them.
// Kernels never decode the formats themselves: kernels/cuda/kv_format.cuh is the one place that does. Block
// formats are storage formats: a bf16 model may keep fp16, q8 or q4 blocks; they decode to fp32.
struct KvCacheView {
    const void* k = nullptr;
    const void* v = nullptr;
    int64_t seq_stride = 0;    // elements between sequences
    int64_t token_stride = 0;  // elements between positions (n_kv_heads * head_dim when packed)

    const uint8_t* blocks = nullptr;        // the layer's block 0
    cpu::KvBlockLayout layout;              // format, n_kv_heads, head_dim, block_tokens
    int64_t block_stride_bytes = 0;         // layout.block_bytes(), kept to save kernels the arithmetic
    const int32_t* block_tables = nullptr;  // device, [batch][blocks_per_seq]; null: contiguous
    int blocks_per_seq = 0;
    const float* pending_keys = nullptr;    // q4: device, [batch][64][n_kv_heads][head_dim], pos at pos % 64
    const float* pending_values = nullptr;  // q4: the same for the values (rotated)
    const float* fresh_keys = nullptr;      // device; null: no fresh rows
    const float* fresh_values = nullptr;
    int64_t fresh_stride = 0;               // floats between the rows of consecutive query rows

    // Reads the call's own positions from `keys`/`values` (see above) where the cache quantizes them.
    void attend_fresh_rows(const float* keys, const float* values, int64_t stride) {
        if (format() != cpu::KvFormat::Q8 && format() != cpu::KvFormat::Q4) return;  // 16-bit rows: already exact
        fresh_keys = keys;
        fresh_values = values;
        fresh_stride = stride;
    }

    ATTN_HOST_DEVICE bool in_blocks() const { return blocks != nullptr; }
    ATTN_HOST_DEVICE cpu::KvFormat format() const { return in_blocks() ? layout.format : cpu::KvFormat::F16; }
};

// The positions of one sequence whose q8/q4 rows are read exact (fp32) instead of from codes: the call's own
// rows from fresh_first on (when the view has fresh rows), q4's unfinished group from pending_first on.
struct KvExactRows {
    int fresh_first;       // kv_len - q_len, or kv_len without fresh rows
    int fresh_row_offset;  // position p's fresh row is query row p + fresh_row_offset
    int pending_first;     // cpu::kv_pending_first(kv_len)
};

// For a sequence of kv_len positions whose q_len query rows start at row first_q_row.
ATTN_HOST_DEVICE inline KvExactRows kv_exact_rows(const KvCacheView& kv, int kv_len, int q_len, int first_q_row) {
    const int first_query_pos = kv_len - q_len;
    return {kv.fresh_keys ? first_query_pos : kv_len, first_q_row - first_query_pos, cpu::kv_pending_first(kv_len)};
}

// Throws attn::Error when `kv` cannot be read by the GPU backends with rows of head_dim: f32 blocks, a layout
// whose kv heads or head_dim disagree with the params, a q4 view without pending rows, fresh rows of a 16-bit
// cache, missing pointers.
void validate_kv_cache_view(const KvCacheView& kv, int n_kv_heads, int head_dim);
// Throws attn::Error for blocks of 2 GiB or more: the kernels address the bytes of a block with 32-bit offsets.
void check_kv_block_bytes(const cpu::KvBlockLayout& layout);

struct AttentionParams {
    int batch = 0;
    int n_heads = 0;
    int n_kv_heads = 0;        // query head h reads kv head h / (n_heads / n_kv_heads)
    int head_dim = 0;
    float scale = 0;           // usually 1/sqrt(head_dim)
    bool causal = true;
    int window = 0;            // 0: none; key j visible from position p only when p - j < window
    const int* q_offsets = nullptr;  // device, [batch + 1]
    const int* kv_lens = nullptr;    // device, [batch]
    int max_q_len = 0;         // host-side bounds, for grid sizes
    int max_kv_len = 0;
    int total_q = 0;
    // Optional host copies of q_offsets / kv_lens for backends that loop over sequences on the host (sdp);
    // kernels that read the device arrays ignore them.
    const int* h_q_offsets = nullptr;  // host, [batch + 1]
    const int* h_kv_lens = nullptr;    // host, [batch]
    // The KV cache is read through blocks (KvCacheView::in_blocks: paged or q8/q4): sdp then decodes each
    // chunk's keys and values into its workspace, and sizes it for that.
    bool kv_in_blocks = false;
};

// The mask rule, once for every backend (the CPU reference's AttentionShape::visible).
__host__ __device__ inline bool key_visible(const AttentionParams& p, int query_pos, int key_pos) {
    return (!p.causal || key_pos <= query_pos) && (p.window <= 0 || query_pos - key_pos < p.window);
}

// Keys [begin, end) that contain every key visible from some position in [first_query_pos, last_query_pos];
// keys outside it are hidden from all of those positions, so a backend never needs to read them.
struct KeyRange {
    int begin;
    int end;
};
__host__ __device__ inline KeyRange visible_key_range(const AttentionParams& p, int first_query_pos,
                                                      int last_query_pos, int kv_len) {
    const int begin = p.window > 0 && first_query_pos - p.window + 1 > 0 ? first_query_pos - p.window + 1 : 0;
    const int end = p.causal ? last_query_pos + 1 : kv_len;
    return {begin, end};
}

// Checks the shape every backend assumes (sizes, GQA grouping, window). Pointers and backend limits are
// checked by each backend: sizing a workspace needs no buffers, and sdp reads only the host lengths.
inline void validate_attention_params(const AttentionParams& p) {
    if (p.n_heads <= 0 || p.n_kv_heads <= 0 || p.n_heads % p.n_kv_heads != 0)
        throw Error("attention: " + std::to_string(p.n_heads) + " query heads cannot share " +
                    std::to_string(p.n_kv_heads) + " kv heads (n_heads must be a positive multiple of n_kv_heads)");
    if (p.head_dim <= 0 || p.batch < 0 || p.total_q < 0 || p.max_q_len < 0 || p.max_kv_len < 0 ||
        p.window < 0)
        throw Error("attention: bad shape (head_dim " + std::to_string(p.head_dim) + ", batch " +
                    std::to_string(p.batch) + ", total_q " + std::to_string(p.total_q) + ", max_q_len " +
                    std::to_string(p.max_q_len) + ", max_kv_len " + std::to_string(p.max_kv_len) + ", window " +
                    std::to_string(p.window) + ")");
}

// Scratch memory a backend may need (sdp's score matrix, split-K partials). Backends report how many bytes
// they want for given params; the caller allocates once through the counting allocator.
struct Workspace {
    void* data = nullptr;
    size_t bytes = 0;
};

}  // namespace attn::cuda
