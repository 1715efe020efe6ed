#pragma once
// KV cache formats and their byte layout: the CPU reference for every kernel that writes or reads the
// cache (the CUDA kernels store and read the same bytes). Measurements behind the choices: docs/KV_CACHE.md.
//
// A row is one kv head's head_dim values at one position. Groups are 32 elements; scales are fp16.
//   f32 : rows of floats.                fp16: rows of IEEE halves.
//   q8  : keys and values: int8 codes q, one scale d = max|x|/127 per 32 elements of the row, x ≈ d·q.
//   q4  : values: the row is rotated (signs flipped by kHadamardSigns, then a normalised Walsh-Hadamard
//         transform over blocks of the largest power of two dividing head_dim), then 4-bit codes c with
//         one scale for the row, d = m/-8 for the element m of largest magnitude, x ≈ d·(c - 8). One scale
//         a row rather than one per 32 elements: no measurable quality cost on the rotated row (docs/KV_CACHE.md),
//         6 bytes fewer a row at head_dim 128, and a decode applies it once per softmax weight.
//         The rotation spreads outliers over the row; reading undoes it (it is orthonormal, so a kernel
//         may instead apply it once to the attention output).
//         keys: per channel over 64 consecutive positions (KIVI): for each channel a scale d and a
//         minimum m, x ≈ d·c + m. Keys carry a large per-channel bias that per-row groups cannot resolve.
//         64 positions rather than 32: 8 bytes a key fewer at head_dim 128, for the 2.5x decode of issue 5,
//         at ~1 point of top-1 agreement on the demo model (docs/KV_CACHE.md).
//         A group's keys are encoded when its 64th position is written; until then the cache holds
//         them in full precision (`pending keys`) and attention reads them from there. The CPU cache
//         keeps the keys and values of the last 64 positions exact in such a ring (kv_view.h); the GPU
//         keeps the unfinished group's keys and values exact (its pending rows).
//         4-bit codes pack two per byte, element 2i in the low nibble.
// Block of B positions (one layer, H kv heads, G = head_dim/32; a contiguous cache is one block, q4's blocks of 64):
//   K codes [R][code_bytes] | V codes [R][code_bytes] | K row scales [R][G] (q8) | V row scales [R][G] (q8), [R][1] (q4) |
//   K channel params [H][B/64][2][head_dim] (q4: scales then minimums), padded to 64 bytes. Rows R are [H][B]
//   (head by head) for q8/q4, so that a kv head's keys are one run of bytes, and [B][H] for f32/fp16. code_bytes = head_dim·4, ·2, ·1, ·1/2 (f32, fp16, q8, q4).
// Bytes per token per layer, K and V, per kv head per head_dim element: f32 8, fp16 4, q8 2.125 (0.53x fp16),
// q4 1.0625 + 2/head_dim (0.270x at head_dim 128: keys 0.5 + 4/64, values 0.5 + 2/head_dim).
#include <cstdint>

// The block layout below is shared with the CUDA kernels, so that one formula places every byte.
#if defined(__CUDACC__)
#define ATTN_HOST_DEVICE __host__ __device__
#else
#define ATTN_HOST_DEVICE
#endif

namespace attn::cpu {

enum class KvFormat { F32, F16, Q8, Q4 };

constexpr int kKvGroup = 32;      // elements per row scale (q8), and the head_dim multiple q8/q4 need
constexpr int kQ4KeyGroup = 64;   // positions per q4 key group, which share their channel parameters
constexpr uint64_t kHadamardSigns = 0x9E3779B97F4A7C15ull;  // bit (i % 64) set: element i is negated

// q4: the first position of the unfinished group of a sequence of `length` positions, whose keys (and on the
// GPU values) are held exact until the group is encoded.
ATTN_HOST_DEVICE constexpr int kv_pending_first(int length) { return length / kQ4KeyGroup * kQ4KeyGroup; }

// The block size of a contiguous cache (blocks in order, no table) of `capacity` positions: one block for the
// whole context, but q4's blocks of one key group each, so that a group's codes, value scales and channel
// parameters are one run of bytes rather than four regions a cache apart (decode at 32k keys on the H100:
// 2.46x -> 2.50x the fp16 cache, measured with the eleventh session's one-byte key scales, docs/PERF.md).
inline int contiguous_block_tokens(KvFormat format, int capacity) {
    return format == KvFormat::Q4 ? kQ4KeyGroup : capacity;
}

const char* kv_format_name(KvFormat format);
// Throws attn::Error when `format` cannot hold rows of head_dim values (q8/q4 need multiples of 32).
void check_kv_format(KvFormat format, int head_dim);
int64_t kv_bytes_per_token_per_layer(KvFormat format, int n_kv_heads, int head_dim);

struct KvBlockLayout {
    KvFormat format = KvFormat::F32;
    int n_kv_heads = 0;
    int head_dim = 0;
    int block_tokens = 0;  // a multiple of kQ4KeyGroup for q4

    ATTN_HOST_DEVICE bool keys_by_channel() const { return format == KvFormat::Q4; }
    ATTN_HOST_DEVICE int64_t row_code_bytes() const {
        switch (format) {
            case KvFormat::F32: return int64_t(head_dim) * 4;
            case KvFormat::F16: return int64_t(head_dim) * 2;
            case KvFormat::Q8: return head_dim;
            case KvFormat::Q4: return head_dim / 2;
        }
        return 0;
    }
    // fp16 scales per row
    ATTN_HOST_DEVICE int row_scales(bool is_value) const {
        if (format == KvFormat::Q8) return head_dim / kKvGroup;
        return format == KvFormat::Q4 && is_value ? 1 : 0;
    }
    // Quantized rows are stored head by head, so that the keys of one kv head, which one decode CTA streams,
    // are contiguous bytes; f32/fp16 rows position by position, as the strided views of the model's tensors.
    ATTN_HOST_DEVICE bool heads_outer() const { return format == KvFormat::Q8 || format == KvFormat::Q4; }
    ATTN_HOST_DEVICE int64_t row_index(int slot, int kv_head) const {
        return heads_outer() ? int64_t(kv_head) * block_tokens + slot : int64_t(slot) * n_kv_heads + kv_head;
    }
    ATTN_HOST_DEVICE int64_t rows() const { return int64_t(block_tokens) * n_kv_heads; }
    ATTN_HOST_DEVICE int64_t codes_offset(bool is_value, int slot, int kv_head) const {
        return (int64_t(is_value) * rows() + row_index(slot, kv_head)) * row_code_bytes();
    }
    ATTN_HOST_DEVICE int64_t row_scales_offset(bool is_value, int slot, int kv_head) const {
        const int64_t key_scales = rows() * row_scales(false) * 2;
        return 2 * rows() * row_code_bytes() + (is_value ? key_scales : 0) +
               row_index(slot, kv_head) * row_scales(is_value) * 2;
    }
    ATTN_HOST_DEVICE int64_t key_groups() const {
        return keys_by_channel() ? (block_tokens + kQ4KeyGroup - 1) / kQ4KeyGroup : 0;
    }
    // q4: the channel parameters of the group holding `slot`
    ATTN_HOST_DEVICE int64_t key_channel_params_offset(int slot, int kv_head) const {
        const int64_t scales_end = 2 * rows() * row_code_bytes() + rows() * (row_scales(false) + row_scales(true)) * 2;
        return scales_end + (int64_t(kv_head) * key_groups() + slot / kQ4KeyGroup) * 2 * head_dim * 2;
    }
    ATTN_HOST_DEVICE int64_t block_bytes() const {
        const int64_t bytes = key_channel_params_offset(0, n_kv_heads);
        return (bytes + 63) / 64 * 64;
    }
};

// Row codecs, exposed for the tests.
void encode_q8_row(const float* x, int head_dim, int8_t* codes, uint16_t* scales);
void decode_q8_row(const int8_t* codes, const uint16_t* scales, int head_dim, float* out);
void encode_q4_row(const float* x, int head_dim, uint8_t* codes, uint16_t* scale);
void decode_q4_row(const uint8_t* codes, const uint16_t* scale, int head_dim, float* out);
// kQ4KeyGroup rows x[r·row_stride ...] -> codes[r·code_stride ...] and params (scales[head_dim], minimums[head_dim]).
void encode_q4_channels(const float* x, int64_t row_stride, int head_dim, uint8_t* codes, int64_t code_stride,
                        uint16_t* params);
void decode_q4_channel_row(const uint8_t* codes, const uint16_t* params, int head_dim, float* out);
void hadamard_rotate(float* x, int head_dim);    // signs, then the transform
void hadamard_unrotate(float* x, int head_dim);  // its inverse

// Writes position `pos` (k, v: [H][head_dim]) into `block`, its block, at slot pos % block_tokens. q4 keys
// go to `key_ring` ([64][H][head_dim], position pos at row pos % 64), which is encoded into the block when pos
// ends a key group; until then the ring holds the group's pending keys. rotated_value_ring (q4, may be
// null): the same ring for the values as rotated, as the GPU cache keeps its pending values. Other formats
// ignore both rings.
void store_kv_position(const KvBlockLayout& layout, uint8_t* block, int pos, const float* k, const float* v,
                       float* key_ring, float* rotated_value_ring = nullptr);
// One row as fp32: a pointer into the block for f32, else decoded into `scratch` (head_dim floats).
const float* load_kv_row(const KvBlockLayout& layout, const uint8_t* block, bool is_value, int slot, int kv_head,
                         float* scratch);

}  // namespace attn::cpu
