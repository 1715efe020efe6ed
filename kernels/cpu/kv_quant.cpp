#include "kernels/cpu/kv_quant.h"

#include <algorithm>
#include <cmath>
#include <cstring>
#include <string>
#include <vector>

#include "src/common/error.h"
#include "src/loader/dtype.h"

namespace attn::cpu {
namespace {

// Scales are rounded to fp16 before the codes are chosen, so codes are exact for the scale that is read.
float to_stored_half(float value, uint16_t& bits) {
    bits = f32_to_f16(value);
    return f16_to_f32(bits);
}

// Decoding converts an fp16 value per element (two per q4 key element): looking it up in a table of all
// 65536 is cheaper than the bit manipulation of f16_to_f32, and 256 KiB stays in cache.
const float* half_table() {
    static const std::vector<float> table = [] {
        std::vector<float> values(65536);
        for (uint32_t bits = 0; bits < 65536; ++bits) values[bits] = f16_to_f32(uint16_t(bits));
        return values;
    }();
    return table.data();
}

int hadamard_block(int head_dim) { return head_dim & -head_dim; }  // largest power of two dividing it

// Unnormalised (H·H = n·I). The first two stages run as one radix-4 pass, so every later stage is a loop
// over >= 4 contiguous pairs, which the compiler vectorises. n >= 4.
void walsh_hadamard(float* x, int n) {
    for (int i = 0; i < n; i += 4) {
        const float a = x[i] + x[i + 1], b = x[i] - x[i + 1], c = x[i + 2] + x[i + 3], d = x[i + 2] - x[i + 3];
        x[i] = a + c, x[i + 1] = b + d, x[i + 2] = a - c, x[i + 3] = b - d;
    }
    for (int len = 4; len < n; len <<= 1)
        for (int i = 0; i < n; i += 2 * len)
            for (int j = i; j < i + len; ++j) {
                const float a = x[j], b = x[j + len];
                x[j] = a + b;
                x[j + len] = a - b;
            }
}

// x[i] *= factor · (the sign kHadamardSigns gives element i)
void scale_with_signs(float* x, int head_dim, float factor) {
    static const std::vector<float> signs = [] {
        std::vector<float> values(64);
        for (int i = 0; i < 64; ++i) values[i] = (kHadamardSigns >> i) & 1 ? -1.0f : 1.0f;
        return values;
    }();
    for (int b = 0; b < head_dim; b += 64)
        for (int i = 0; i < std::min(64, head_dim - b); ++i) x[b + i] *= factor * signs[i];
}

}  // namespace

const char* kv_format_name(KvFormat format) {
    switch (format) {
        case KvFormat::F32: return "f32";
        case KvFormat::F16: return "fp16";
        case KvFormat::Q8: return "q8";
        case KvFormat::Q4: return "q4";
    }
    return "?";
}

void check_kv_format(KvFormat format, int head_dim) {
    if ((format == KvFormat::Q8 || format == KvFormat::Q4) && head_dim % kKvGroup != 0)
        throw Error(std::string("--kv-cache ") + kv_format_name(format) + " needs head_dim to be a multiple of " +
                    std::to_string(kKvGroup) + " (this model has " + std::to_string(head_dim) +
                    "); use --kv-cache fp16 or f32");
}

int64_t kv_bytes_per_token_per_layer(KvFormat format, int n_kv_heads, int head_dim) {
    const KvBlockLayout row{format, n_kv_heads, head_dim, kKvGroup};
    const int64_t key_params = row.keys_by_channel() ? 2 * 2 * head_dim / kQ4KeyGroup : 0;  // amortised per position
    return n_kv_heads * (2 * row.row_code_bytes() + 2 * (row.row_scales(false) + row.row_scales(true)) + key_params);
}

void encode_q8_row(const float* x, int head_dim, int8_t* codes, uint16_t* scales) {
    for (int g = 0; g < head_dim / kKvGroup; ++g) {
        const float* xg = x + g * kKvGroup;
        float amax = 0;
        for (int i = 0; i < kKvGroup; ++i) amax = std::max(amax, std::fabs(xg[i]));
        const float d = to_stored_half(amax / 127.0f, scales[g]);
        const float inv = d > 0 ? 1.0f / d : 0.0f;
        for (int i = 0; i < kKvGroup; ++i)
            codes[g * kKvGroup + i] = int8_t(std::clamp(std::nearbyint(xg[i] * inv), -127.0f, 127.0f));
    }
}

void decode_q8_row(const int8_t* codes, const uint16_t* scales, int head_dim, float* out) {
    for (int g = 0; g < head_dim / kKvGroup; ++g) {
        const float d = half_table()[scales[g]];
        for (int i = 0; i < kKvGroup; ++i) out[g * kKvGroup + i] = d * codes[g * kKvGroup + i];
    }
}

void encode_q4_row(const float* x, int head_dim, uint8_t* codes, uint16_t* scale) {
    float extreme = 0;  // the element of largest magnitude, with its sign: it gets code 0 exactly
    for (int i = 0; i < head_dim; ++i)
        if (std::fabs(x[i]) > std::fabs(extreme)) extreme = x[i];
    const float d = to_stored_half(extreme / -8.0f, *scale);
    const float inv = d != 0 ? 1.0f / d : 0.0f;
    const auto code = [&](int e) { return uint8_t(std::clamp(std::nearbyint(x[e] * inv) + 8.0f, 0.0f, 15.0f)); };
    for (int i = 0; i < head_dim; i += 2) codes[i / 2] = uint8_t(code(i) | code(i + 1) << 4);
}

void decode_q4_row(const uint8_t* codes, const uint16_t* scale, int head_dim, float* out) {
    const float d = half_table()[*scale];
    for (int i = 0; i < head_dim; i += 2) {
        out[i] = d * (int(codes[i / 2] & 0x0f) - 8);
        out[i + 1] = d * (int(codes[i / 2] >> 4) - 8);
    }
}

void encode_q4_channels(const float* x, int64_t row_stride, int head_dim, uint8_t* codes, int64_t code_stride,
                        uint16_t* params) {
    for (int r = 0; r < kQ4KeyGroup; ++r) std::fill_n(codes + r * code_stride, head_dim / 2, uint8_t(0));
    for (int c = 0; c < head_dim; ++c) {
        float lo = x[c], hi = x[c];
        for (int r = 1; r < kQ4KeyGroup; ++r)
            lo = std::min(lo, x[r * row_stride + c]), hi = std::max(hi, x[r * row_stride + c]);
        const float d = to_stored_half((hi - lo) / 15.0f, params[c]);
        const float m = to_stored_half(lo, params[head_dim + c]);
        const float inv = d > 0 ? 1.0f / d : 0.0f;
        for (int r = 0; r < kQ4KeyGroup; ++r) {
            const uint8_t code = uint8_t(std::clamp(std::nearbyint((x[r * row_stride + c] - m) * inv), 0.0f, 15.0f));
            codes[r * code_stride + c / 2] |= uint8_t(c % 2 ? code << 4 : code);
        }
    }
}

void decode_q4_channel_row(const uint8_t* codes, const uint16_t* params, int head_dim, float* out) {
    const float* half = half_table();
    for (int c = 0; c < head_dim; c += 2) {
        const uint8_t byte = codes[c / 2];
        out[c] = half[params[c]] * (byte & 0x0f) + half[params[head_dim + c]];
        out[c + 1] = half[params[c + 1]] * (byte >> 4) + half[params[head_dim + c + 1]];
    }
}

void hadamard_rotate(float* x, int head_dim) {
    const int n = hadamard_block(head_dim);
    scale_with_signs(x, head_dim, 1.0f);
    for (int b = 0; b < head_dim; b += n) walsh_hadamard(x + b, n);
    for (int i = 0; i < head_dim; ++i) x[i] *= 1.0f / std::sqrt(float(n));
}

void hadamard_unrotate(float* x, int head_dim) {
    const int n = hadamard_block(head_dim);
    for (int b = 0; b < head_dim; b += n) walsh_hadamard(x + b, n);
    scale_with_signs(x, head_dim, 1.0f / std::sqrt(float(n)));
}

namespace {

// Writes one position's rows into its block; q4 keys are left to store_key_group. rotated_values: null, or
// where the q4 value rows go as rotated before encoding ([H][head_dim]).
void store_kv_token(const KvBlockLayout& layout, uint8_t* block, int slot, const float* k_token, const float* v_token,
                    float* rotated_values) {
    const int hd = layout.head_dim;
    for (int is_value = layout.keys_by_channel() ? 1 : 0; is_value < 2; ++is_value) {
        for (int h = 0; h < layout.n_kv_heads; ++h) {
            const float* x = (is_value ? v_token : k_token) + int64_t(h) * hd;
            uint8_t* codes = block + layout.codes_offset(is_value, slot, h);
            auto* scales = reinterpret_cast<uint16_t*>(block + layout.row_scales_offset(is_value, slot, h));
            switch (layout.format) {
                case KvFormat::F32: std::memcpy(codes, x, size_t(hd) * sizeof(float)); break;
                case KvFormat::F16:
                    for (int i = 0; i < hd; ++i) reinterpret_cast<uint16_t*>(codes)[i] = f32_to_f16(x[i]);
                    break;
                case KvFormat::Q8: encode_q8_row(x, hd, reinterpret_cast<int8_t*>(codes), scales); break;
                case KvFormat::Q4: {
                    float rotated[1024];
                    ATTN_ASSERT(hd <= 1024);
                    std::copy_n(x, hd, rotated);
                    hadamard_rotate(rotated, hd);
                    encode_q4_row(rotated, hd, codes, scales);
                    if (rotated_values) std::copy_n(rotated, hd, rotated_values + int64_t(h) * hd);
                    break;
                }
            }
        }
    }
}

// q4: encodes the keys of the kQ4KeyGroup positions starting at `slot` (a multiple of it); keys: the ring,
// [kQ4KeyGroup][H][head_dim].
void store_key_group(const KvBlockLayout& layout, uint8_t* block, int slot, const float* keys) {
    ATTN_ASSERT(layout.keys_by_channel() && slot % kQ4KeyGroup == 0);
    const int64_t row_stride = int64_t(layout.n_kv_heads) * layout.head_dim;
    const int64_t code_stride = layout.codes_offset(false, 1, 0) - layout.codes_offset(false, 0, 0);
    for (int h = 0; h < layout.n_kv_heads; ++h)
        encode_q4_channels(keys + int64_t(h) * layout.head_dim, row_stride, layout.head_dim,
                           block + layout.codes_offset(false, slot, h), code_stride,
                           reinterpret_cast<uint16_t*>(block + layout.key_channel_params_offset(slot, h)));
}

}  // namespace

void store_kv_position(const KvBlockLayout& layout, uint8_t* block, int pos, const float* k, const float* v,
                       float* key_ring, float* rotated_value_ring) {
    const int slot = pos % layout.block_tokens;
    const int64_t kv_dim = int64_t(layout.n_kv_heads) * layout.head_dim;
    const bool value_ring = layout.keys_by_channel() && rotated_value_ring;
    store_kv_token(layout, block, slot, k, v, value_ring ? rotated_value_ring + (pos % kQ4KeyGroup) * kv_dim : nullptr);
    if (!layout.keys_by_channel()) return;
    std::copy_n(k, kv_dim, key_ring + (pos % kQ4KeyGroup) * kv_dim);
    if (pos % kQ4KeyGroup == kQ4KeyGroup - 1) store_key_group(layout, block, slot - (kQ4KeyGroup - 1), key_ring);
}

const float* load_kv_row(const KvBlockLayout& layout, const uint8_t* block, bool is_value, int slot, int kv_head,
                         float* scratch) {
    const int hd = layout.head_dim;
    const uint8_t* codes = block + layout.codes_offset(is_value, slot, kv_head);
    const auto* scales = reinterpret_cast<const uint16_t*>(block + layout.row_scales_offset(is_value, slot, kv_head));
    switch (layout.format) {
        case KvFormat::F32: return reinterpret_cast<const float*>(codes);
        case KvFormat::F16: {
            const float* half = half_table();
            for (int i = 0; i < hd; ++i) scratch[i] = half[reinterpret_cast<const uint16_t*>(codes)[i]];
            return scratch;
        }
        case KvFormat::Q8: decode_q8_row(reinterpret_cast<const int8_t*>(codes), scales, hd, scratch); return scratch;
        case KvFormat::Q4:
            if (!is_value) {
                const auto* params = reinterpret_cast<const uint16_t*>(block + layout.key_channel_params_offset(slot, kv_head));
                decode_q4_channel_row(codes, params, hd, scratch);
                return scratch;
            }
            decode_q4_row(codes, scales, hd, scratch);
            hadamard_unrotate(scratch, hd);
            return scratch;
    }
    return scratch;
}

}  // namespace attn::cpu
