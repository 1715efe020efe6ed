#pragma once
// The one place on the GPU that reads KV-cache rows (attention.h's KvCacheView, byte layout of
// kernels/cpu/kv_quant.h). A kernel locates a row once, then either
//  - fetches 8 consecutive elements into registers (KvChunk8::fetch, one load of codes: 16 bytes fp16, 8 q8,
//    4 q4) and decodes them to fp32 later (decode), so that loads stay in flight while it computes; or
//  - decodes one element (kv_element) or a whole row spread over a warp (kv_load_row_strided).
// Decoding yields fp32; q4 values stay in the rotated basis (kv_hadamard.cuh undoes it). Storing the floats
// in the kernel's element type is a separate, tiny step (store8). On the GPU the 16-bit format ("fp16",
// KvFormat::F16) holds elements of the model's type T (fp16, or bf16 for a bf16 model), strided or in
// blocks: the decoders that read it take T.
#include <cstdint>
#include <cstring>
#include <type_traits>

#include "kernels/cuda/attention.h"
#include "kernels/cuda/element_type.cuh"

namespace attn::cuda {

using cpu::KvFormat;
using cpu::kv_pending_first;

struct KvRow {
    const uint8_t* codes = nullptr;          // 16-bit T / int8 / packed 4-bit codes, or an exact fp32 row
    const __half* scales = nullptr;          // q8 rows: one per 32 elements; q4 value rows: one
    const __half* channel_scales = nullptr;  // q4 keys: the group's per-channel scales [head_dim]
    const __half* channel_mins = nullptr;    // ... and minimums [head_dim]
    bool exact = false;                      // codes holds head_dim floats: a fresh row or a pending q4 row
};

// kv_exact_rows of sequence `seq` of a kernel's params (three loads: cheaper than registers held for them).
__device__ __forceinline__ KvExactRows kv_exact_rows(const KvCacheView& kv, const AttentionParams& p, int seq) {
    const int first_q_row = p.q_offsets[seq];
    return kv_exact_rows(kv, p.kv_lens[seq], p.q_offsets[seq + 1] - first_q_row, first_q_row);
}

// Where the K (or V) row of (seq, pos, kv_head) lives. F must be kv.format(); exact: the sequence's
// kv_exact_rows (read for q8 and q4).
template <KvFormat F, bool IsValue>
__device__ __forceinline__ KvRow locate_kv_row(const KvCacheView& kv, int seq, int pos, int kv_head, int head_dim,
                                               const KvExactRows& exact) {
    KvRow row;
    if constexpr (F == KvFormat::F16) {
        if (!kv.in_blocks()) {
            const uint16_t* base = static_cast<const uint16_t*>(IsValue ? kv.v : kv.k);  // 16-bit elements
            row.codes = reinterpret_cast<const uint8_t*>(base + seq * kv.seq_stride + pos * kv.token_stride +
                                                         int64_t(kv_head) * head_dim);
            return row;
        }
    }
    const cpu::KvBlockLayout& layout = kv.layout;
    // Lets the compiler fold the layout's format-dependent row order: kernels near their register limit
    // (flash prefill at head_dim 128) spilled more with the branch in them.
    __builtin_assume(layout.format == F);
    if constexpr (F != KvFormat::F16) {
        if (pos >= exact.fresh_first) {
            const float* fresh = IsValue ? kv.fresh_values : kv.fresh_keys;
            row.codes = reinterpret_cast<const uint8_t*>(fresh + (pos + exact.fresh_row_offset) * kv.fresh_stride +
                                                         kv_head * head_dim);
            row.exact = true;
            return row;
        }
    }
    if constexpr (F == KvFormat::Q4) {
        if (pos >= exact.pending_first) {
            const int64_t index =
                (int64_t(seq) * cpu::kQ4KeyGroup + pos % cpu::kQ4KeyGroup) * layout.n_kv_heads + kv_head;
            const float* pending = IsValue ? kv.pending_values : kv.pending_keys;
            row.codes = reinterpret_cast<const uint8_t*>(pending + index * layout.head_dim);
            row.exact = true;
            return row;
        }
    }
    const int index = pos / layout.block_tokens, slot = pos % layout.block_tokens;
    const int64_t table_index = int64_t(seq) * kv.blocks_per_seq + index;
    const int64_t block = kv.block_tables ? __ldg(kv.block_tables + table_index) : table_index;
    const uint8_t* bytes = kv.blocks + block * kv.block_stride_bytes;
    row.codes = bytes + layout.codes_offset(IsValue, slot, kv_head);
    if constexpr (F == KvFormat::Q8 || (F == KvFormat::Q4 && IsValue))
        row.scales = reinterpret_cast<const __half*>(bytes + layout.row_scales_offset(IsValue, slot, kv_head));
    if constexpr (F == KvFormat::Q4 && !IsValue) {
        row.channel_scales = reinterpret_cast<const __half*>(bytes + layout.key_channel_params_offset(slot, kv_head));
        row.channel_mins = row.channel_scales + layout.head_dim;
    }
    return row;
}

// q4 keys: x = d·code + m, rounded as the CPU decoder rounds (no fused multiply-add).
__device__ __forceinline__ float q4_key_value(float scale, int code, float minimum) {
    return __fadd_rn(__fmul_rn(scale, float(code)), minimum);
}

// One element of a row (any format; T: the 16-bit format's element type): for the reference kernel and for
// rows spread over a warp.
template <typename T, KvFormat F, bool IsValue>
__device__ __forceinline__ float kv_element(const KvRow& row, int e) {
    if constexpr (F == KvFormat::F16) {
        return to_float(reinterpret_cast<const T*>(row.codes)[e]);
    } else if constexpr (F == KvFormat::Q8) {
        if (row.exact) return reinterpret_cast<const float*>(row.codes)[e];
        return __half2float(row.scales[e / cpu::kKvGroup]) * float(reinterpret_cast<const int8_t*>(row.codes)[e]);
    } else {
        if (row.exact) return reinterpret_cast<const float*>(row.codes)[e];
        const uint8_t byte = row.codes[e / 2];
        const int code = e % 2 ? byte >> 4 : byte & 0x0f;
        if constexpr (IsValue) return __half2float(row.scales[0]) * float(code - 8);
        return q4_key_value(__half2float(row.channel_scales[e]), code, __half2float(row.channel_mins[e]));
    }
}

// Lane l receives elements 32j + l (x[j]) of the row; elements past head_dim are 0.
template <typename T, KvFormat F, bool IsValue, int kPerLane>
__device__ __forceinline__ void kv_load_row_strided(const KvRow& row, int head_dim, float (&x)[kPerLane]) {
    const int lane = threadIdx.x % 32;
#pragma unroll
    for (int j = 0; j < kPerLane; ++j) {
        const int e = 32 * j + lane;
        x[j] = e < head_dim ? kv_element<T, F, IsValue>(row, e) : 0.0f;
    }
}

// Elements [d0, d0 + 8) of a row (d0 a multiple of 8): fetch() issues the loads, decode() turns them into
// floats. Each code byte is loaded once; scales come from L1/L2 (shared by 32 elements or 32 positions).
// T is the 16-bit format's element type; the quantized formats ignore it. q4 value rows, which the tiled
// kernels rotate back a whole row per warp, are read by kv_load_row_strided instead.
template <typename T, KvFormat F, bool IsValue>
struct KvChunk8;

template <typename T, bool IsValue>
struct KvChunk8<T, KvFormat::F16, IsValue> {
    uint4 raw;
    __device__ __forceinline__ void fetch(const KvRow& row, int d0) {
        raw = __ldg(reinterpret_cast<const uint4*>(row.codes) + d0 / 8);
    }
    __device__ __forceinline__ void zero() { raw = make_uint4(0, 0, 0, 0); }
    __device__ __forceinline__ void decode(float (&x)[8]) const { unpack8<T>(raw, x); }
};

// 8 elements of an exact fp32 row (KvRow::exact) from `at`: two 16-byte loads.
__device__ __forceinline__ void load_exact8(const float* at, uint4& low, uint4& high) {
    low = __ldg(reinterpret_cast<const uint4*>(at));
    high = __ldg(reinterpret_cast<const uint4*>(at) + 1);
}
__device__ __forceinline__ void unpack_exact8(const uint4& low, const uint4& high, float (&x)[8]) {
    const float* f = reinterpret_cast<const float*>(&low);
    const float* g = reinterpret_cast<const float*>(&high);
#pragma unroll
    for (int i = 0; i < 4; ++i) x[i] = f[i], x[4 + i] = g[i];
}

template <typename T, bool IsValue>
struct KvChunk8<T, KvFormat::Q8, IsValue> {
    // The 8 int8 codes; an exact row keeps only its address in `raw` and is loaded by decode(): its 8 floats
    // held from fetch() on would cost the tiled kernels, which fetch many chunks at once, more registers than
    // codes do (xformers lost a block an SM that way).
    uint2 raw;
    __half scale;
    bool exact;
    __device__ __forceinline__ void fetch(const KvRow& row, int d0) {
        exact = row.exact;
        if (exact) {
            const float* at = reinterpret_cast<const float*>(row.codes) + d0;
            memcpy(&raw, &at, sizeof(at));
            return;
        }
        raw = __ldg(reinterpret_cast<const uint2*>(row.codes + d0));
        scale = row.scales[d0 / cpu::kKvGroup];
    }
    __device__ __forceinline__ void zero() {
        exact = false;
        raw = make_uint2(0, 0);
        scale = __float2half(0.0f);
    }
    __device__ __forceinline__ void decode(float (&x)[8]) const {
        if (exact) {
            const float* at;
            memcpy(&at, &raw, sizeof(at));
            uint4 low, high;
            load_exact8(at, low, high);
            return unpack_exact8(low, high, x);
        }
        const float d = __half2float(scale);
#pragma unroll
        for (int i = 0; i < 8; ++i) {
            const uint32_t word = i < 4 ? raw.x : raw.y;
            x[i] = d * float(int8_t(word >> (8 * (i % 4))));
        }
    }
};

template <typename T>
struct KvChunk8<T, KvFormat::Q4, false> {
    uint32_t raw;
    uint4 first, second;  // exact: the 8 floats; else the 8 channel scales and the 8 minimums (halves)
    bool exact;
    __device__ __forceinline__ void fetch(const KvRow& row, int d0) {
        exact = row.exact;
        if (exact) return load_exact8(reinterpret_cast<const float*>(row.codes) + d0, first, second);
        raw = __ldg(reinterpret_cast<const uint32_t*>(row.codes + d0 / 2));
        first = __ldg(reinterpret_cast<const uint4*>(row.channel_scales + d0));
        second = __ldg(reinterpret_cast<const uint4*>(row.channel_mins + d0));
    }
    __device__ __forceinline__ void zero() {
        exact = true;
        first = second = make_uint4(0, 0, 0, 0);
    }
    __device__ __forceinline__ void decode(float (&x)[8]) const {
        if (exact) return unpack_exact8(first, second, x);
        float scales[8], mins[8];
        unpack8<__half>(first, scales);  // the channel parameters are fp16 whatever the model's type
        unpack8<__half>(second, mins);
#pragma unroll
        for (int i = 0; i < 8; ++i) x[i] = q4_key_value(scales[i], int((raw >> (4 * i)) & 0x0f), mins[i]);
    }
};

// The tiny step that depends on the kernels' element type: 8 floats as one 16-byte store of T.
template <typename T>
__device__ __forceinline__ void store8(T* dst, const float (&x)[8]) {
    uint4 raw;
    ElementPair<T>* pairs = reinterpret_cast<ElementPair<T>*>(&raw);
#pragma unroll
    for (int i = 0; i < 4; ++i) pairs[i] = pair_from_floats<T>(x[2 * i], x[2 * i + 1]);
    *reinterpret_cast<uint4*>(dst) = raw;
}

// Calls body(std::integral_constant<KvFormat, F>{}) for the view's format (fp16, q8 or q4).
template <typename Body>
inline void dispatch_kv_format(KvFormat format, Body&& body) {
    switch (format) {
        case KvFormat::Q8: body(std::integral_constant<KvFormat, KvFormat::Q8>{}); return;
        case KvFormat::Q4: body(std::integral_constant<KvFormat, KvFormat::Q4>{}); return;
        default: body(std::integral_constant<KvFormat, KvFormat::F16>{}); return;
    }
}

}  // namespace attn::cuda
