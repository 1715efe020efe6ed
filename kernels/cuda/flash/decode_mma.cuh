#pragma once
// The warp-level pieces of the tensor-core decode for q8 and q4 caches (flash_decode.cu's
// flash_decode_mma_kernel, sm_80+, head_dim 64 and 128). A warp takes a group of 32 keys at a time: their
// codes are copied raw into shared memory (cp.async), and mma.sync m16n8k16 computes the scores transposed,
// Sᵀ = K·Qᵀ, with 16 keys as the rows of a tile and the CTA's 8 query heads as its columns (every row used;
// with the heads as rows, 8 of 16 would be padding), and the output transposed too, Oᵀ += Vᵀ·Pᵀ. Between
// the two, P is turned from the score tiles' layout into Pᵀ's B fragments by movmatrix, 8x8 at a time.
// Codes enter the tensor cores as biased integers, exact in fp16, made by one or two integer instructions a
// pair (0x6400 | byte is 1024 + byte; 0x4C00 | nibble << 6 is 16 + nibble; 0x6400 | nibble is 1024 + nibble
// and 0x5400 | nibble << 4 is 64 + nibble, both without a shift). What scales them is folded into
// the operand on the other side, and what the bias adds is taken out once per product, never per element:
//   q8 keys  (a scale per row and 32 elements, codes + 128 biased to 1152 + code):
//            S = Σ_g scale_g · (Q_g · (C_g + 1152)ᵀ − 1152 Σ Q_g), the last term a per-head constant.
//   q4 keys  (a scale d and minimum m per channel and 64 positions, K = C·d + m):
//            S = (Q∘d) · (C + 16)ᵀ + Q · (m − 16d): the scales go into the query, the second term is one
//            product for the warp's 32 keys.
//   q4 keys and values of the unfinished group (fp32 rows of the pending buffers): rounded to fp16, values
//            without a scale or a bias (add_pending_values).
//   values   (q8: a scale per row and 32 elements, codes biased to 1152 + code; q4: a scale per row, codes c,
//            the value c − 8, to 1024 + c or 64 + c by output tile):
//            Oᵀ += (C_g + bias)ᵀ · (P·scale_g)ᵀ − bias · 1 · (P·scale_g)ᵀ, the correction a product with a
//            constant fragment. A bias of 1024 costs the fp32 sums 10 of
//            their 24 bits against the values' 4: still 2^-14 of the output's scale.
// The query, P·scale and Q∘d are rounded to fp16 once each, as a FlashAttention kernel's inputs are: about
// 2^-12 of each term, far below what 8- or 4-bit codes themselves cost; the bias corrections cancel in fp32.
// Codes reach the fragments by ldmatrix on 16-byte rows of codes (non-transposed for K, transposed for V).
// Which element of a head a fragment position holds follows from that (the sum of a product does not care),
// as the comments below spell out; shared rows are XOR-swizzled by 16-byte chunks so that the eight rows of
// an ldmatrix hit distinct banks.
#include <cstdint>

#include <cuda_fp16.h>

#include "kernels/cuda/flash/mma.cuh"
#include "kernels/cuda/kv_format.cuh"

namespace attn::cuda::decode_mma {

constexpr int kKeys = 32;      // keys a warp takes at a time: half a q4 key group (kv_quant.h)
constexpr int kHeadRows = 8;   // query heads per CTA: the 8 columns of the score and output tiles

template <KvFormat F, int HeadDim>
struct Shape {
    static_assert(F == KvFormat::Q8 || F == KvFormat::Q4, "codes of 8 or 4 bits");
    static_assert(HeadDim == 64 || HeadDim == 128, "rows of a power of two of 16-byte chunks");
    static constexpr int kRowBytes = F == KvFormat::Q8 ? HeadDim : HeadDim / 2;
    static constexpr int kChunks = kRowBytes / 16;            // 16-byte chunks per row: an ldmatrix column
    static constexpr int kGroups = HeadDim / cpu::kKvGroup;    // q8 row scale groups of 32 elements
    static constexpr int kValueScales = F == KvFormat::Q8 ? kGroups : 1;  // per value row (q4: one a row)
    static constexpr int kChunksPerValueScale = kChunks / kValueScales;
};

// One warp's copy of a group: raw codes, row scales (q8 keys and all values), q4 channel parameters.
// Every member starts on 16 bytes (cp.async of 16 bytes, ldmatrix rows), and so does every stage of an array.
template <KvFormat F, int HeadDim>
struct alignas(16) Stage {
    using S = Shape<F, HeadDim>;
    alignas(16) uint8_t k[kKeys * S::kRowBytes];
    alignas(16) uint8_t v[kKeys * S::kRowBytes];
    alignas(16) __half channels[F == KvFormat::Q4 ? 2 : 1][HeadDim];  // the group's key scales d, then minimums m
    alignas(16) __half k_scales[F == KvFormat::Q8 ? kKeys : 1][S::kGroups];
    alignas(16) __half v_scales[kKeys][S::kValueScales];
};

// A stage's row of q8 key scales (k_scales): one per scale group, read with one load.
template <int kGroups>
struct alignas(2 * kGroups) ScaleRow {
    __half scale[kGroups];
};

// Byte offset of (row, chunk) in a stage's code tile: chunks XOR-swizzled across each run of 128 bytes.
template <int kChunks>
__device__ __forceinline__ int swizzled(int row, int chunk) {
    constexpr int kRowsPerLine = 8 / kChunks;  // rows that share a 128-byte line of banks
    return row * kChunks * 16 + ((chunk ^ ((row / kRowsPerLine) % kChunks)) * 16);
}

// The lane's chunks of a whole group's code tile, chunk lane + 32·i at chunk_offset(i): swizzled() with the
// lane's part worked out once. Each step moves 32 / kChunks rows down, four 128-byte lines: the swizzle term
// stays for kChunks <= 4 and flips bit 2 of the chunk for kChunks = 8.
template <int kChunks>
struct LaneChunks {
    int first;  // chunk `lane`'s offset
    __device__ __forceinline__ explicit LaneChunks(int lane) : first(swizzled<kChunks>(lane / kChunks, lane % kChunks)) {}
    __device__ __forceinline__ int chunk_offset(int i) const {
        return (kChunks == 8 && i % 2 ? first ^ 64 : first) + 512 * i;
    }
};

// `bytes` (16, 8 or 4) from global memory to the shared address `to`, zero-filled where !valid.
__device__ __forceinline__ void copy_async(uint32_t to, const void* global, int bytes, bool valid) {
#if defined(__CUDA_ARCH__) && __CUDA_ARCH__ >= 800
    const int source_bytes = valid ? bytes : 0;  // zero fill
    if (bytes == 16)
        asm volatile("cp.async.cg.shared.global [%0], [%1], 16, %2;\n" ::"r"(to), "l"(global), "r"(source_bytes));
    else if (bytes == 8)
        asm volatile("cp.async.ca.shared.global [%0], [%1], 8, %2;\n" ::"r"(to), "l"(global), "r"(source_bytes));
    else
        asm volatile("cp.async.ca.shared.global [%0], [%1], 4, %2;\n" ::"r"(to), "l"(global), "r"(source_bytes));
#else
    __trap();  // the host launches this kernel on the sm80 path only
#endif
}

__device__ __forceinline__ uint32_t pack_pair(float x, float y) {
    const __half2 h = __floats2half2_rn(x, y);
    return *reinterpret_cast<const uint32_t*>(&h);
}

// Bytes i and j of `word` as an fp16 pair 1024 + byte.
__device__ __forceinline__ uint32_t byte_pair(uint32_t word, int i, int j) {
    return __byte_perm(word, 0x64646464u, 0x5040u | (j << 8) | i);
}

// (word & kMask) | exponent by one lop3 (written out: the compiler makes an AND and an OR of it, as one
// instruction takes only one immediate).
template <uint32_t kMask>
__device__ __forceinline__ uint32_t mask_under(uint32_t word, uint32_t exponent) {
    uint32_t pair;
    asm("lop3.b32 %0, %1, %2, %3, 0xea;" : "=r"(pair) : "r"(word), "n"(kMask), "r"(exponent));  // (a & b) | c
    return pair;
}

// Nibbles n and n + 4 of `word` as an fp16 pair 16 + nibble (n < 4, known at compile time after unrolling):
// moved to mantissa bits 6..9 of each half, where a unit of the mantissa is 1 under the exponent of 16.
__device__ __forceinline__ uint32_t nibble_pair(uint32_t word, int n) {
    const uint32_t moved = n <= 1 ? word << (6 - 4 * n) : word >> (4 * n - 6);
    return mask_under<0x03c003c0u>(moved, 0x4c004c00u);
}

// Nibbles 0 and 4 (1024 + nibble: mantissa bits 0..3 count units under the exponent of 1024) or 1 and 5
// (64 + nibble: bits 4..7 count sixteenths under the exponent of 64) of `word`, in place: no shift. Nibbles
// 2, 6 and 3, 7 are the same of word >> 8, one shift for both.
__device__ __forceinline__ uint32_t low_nibble_pair(uint32_t word) { return mask_under<0x000f000fu>(word, 0x64006400u); }
__device__ __forceinline__ uint32_t high_nibble_pair(uint32_t word) { return mask_under<0x00f000f0u>(word, 0x54005400u); }

__device__ __forceinline__ uint32_t half_pair(float x) {
    const __half2 h = __float2half2_rn(x);
    return *reinterpret_cast<const uint32_t*>(&h);
}

__device__ __forceinline__ uint32_t multiply_pairs(uint32_t x, uint32_t y) {
    const __half2 r = __hmul2(*reinterpret_cast<const __half2*>(&x), *reinterpret_cast<const __half2*>(&y));
    return *reinterpret_cast<const uint32_t*>(&r);
}

// What the biased codes add: q8 codes arrive as 1024 + (code + 128), q4 keys as 16 + c (ValueTiles: values).
constexpr float kQ8Bias = 1152.0f;
constexpr float kQ4KeyBias = 16.0f;

// Which head elements lane (g, t) holds in A/B k positions (2t, 2t+1 | 2t+8, 2t+9) of slice s:
//   q8: slice s is chunk s (16 elements, inside scale group s / 2): elements 16s + 4t + (0, 1 | 2, 3).
//   q4: chunk b (32 elements) makes slices 2b and 2b+1: 32b + 8t + (0, 4 | 1, 5) and (2, 6 | 3, 7).
// lane_element(): the element of the lane's i-th query value (of HeadDim / 4), in the order the slices use;
// runs of kQueryRun of them are consecutive elements.
template <KvFormat F>
__device__ __forceinline__ int lane_element(int i, int t) {
    if constexpr (F == KvFormat::Q8) return 16 * (i / 4) + 4 * t + i % 4;
    return 32 * (i / 8) + 8 * t + i % 8;
}
template <KvFormat F>
constexpr int kQueryRun = F == KvFormat::Q8 ? 4 : 8;

// The lane's query values of one head (zeros where !valid), times `scale`, a run of elements per load.
template <KvFormat F, int HeadDim, typename T>
__device__ __forceinline__ void load_lane_query(const T* head, int t, float scale, bool valid,
                                                float (&x)[HeadDim / 4]) {
    constexpr int kRun = kQueryRun<F>;
    struct alignas(2 * kRun) Run {
        T element[kRun];
    };
#pragma unroll
    for (int r = 0; r < HeadDim / 4 / kRun; ++r) {
        const Run run = *reinterpret_cast<const Run*>(head + lane_element<F>(r * kRun, t));
#pragma unroll
        for (int k = 0; k < kRun; ++k) x[r * kRun + k] = valid ? to_float(run.element[k]) * scale : 0.0f;
    }
}

// The pairs of slice s at k positions 2t.. and 2t+8.. from the lane's values x (in lane_element order).
template <KvFormat F>
__device__ __forceinline__ void slice_pairs(const float* x, int s, float (&low)[2], float (&high)[2]) {
    if constexpr (F == KvFormat::Q8) {
        low[0] = x[4 * s], low[1] = x[4 * s + 1], high[0] = x[4 * s + 2], high[1] = x[4 * s + 3];
    } else {
        const float* e = x + 8 * (s / 2);
        const int w = 2 * (s % 2);
        low[0] = e[w], low[1] = e[w + 4], high[0] = e[w + 1], high[1] = e[w + 5];
    }
}

// A q4 chunk's channel scales d and offsets m − 16d for the lane's 8 elements, as pairs for elements
// (e, e + 4): the pairs its key fragments hold.
struct ChannelPairs {
    uint32_t scale[4], offset[4];
    // The lane's 8 channels of a chunk, scales then minimums, as loaded: halves e = 0..7 in order.
    __device__ __forceinline__ void load(const __half* scales, const __half* minimums) {
        const uint4 d = *reinterpret_cast<const uint4*>(scales), m = *reinterpret_cast<const uint4*>(minimums);
        pair_up(d, scale);
        pair_up(m, offset);
#pragma unroll
        for (int i = 0; i < 4; ++i) {
            const __half2 o = __hfma2(*reinterpret_cast<const __half2*>(&scale[i]), __float2half2_rn(-kQ4KeyBias),
                                      *reinterpret_cast<const __half2*>(&offset[i]));
            offset[i] = *reinterpret_cast<const uint32_t*>(&o);
        }
    }
    __device__ static __forceinline__ void pair_up(const uint4& h, uint32_t (&pair)[4]) {
        pair[0] = __byte_perm(h.x, h.z, 0x5410), pair[1] = __byte_perm(h.x, h.z, 0x7632);
        pair[2] = __byte_perm(h.y, h.w, 0x5410), pair[3] = __byte_perm(h.y, h.w, 0x7632);
    }
};

// A fragments of an m-tile of keys (rows g and g + 8: the lane's words of those keys' chunk, from ldmatrix):
// q8 codes of the chunk's slice as 1152 + code, or q4 codes of slice s as 16 + c. Their k positions hold the
// head elements that lane_element() gives the query's pairs.
__device__ __forceinline__ void q8_key_fragment(uint32_t row_g, uint32_t row_g8, uint32_t (&a)[4]) {
    const uint32_t low = row_g ^ 0x80808080u, high = row_g8 ^ 0x80808080u;  // code + 128
    a[0] = byte_pair(low, 0, 1), a[1] = byte_pair(high, 0, 1);
    a[2] = byte_pair(low, 2, 3), a[3] = byte_pair(high, 2, 3);
}

__device__ __forceinline__ void q4_key_fragment(uint32_t row_g, uint32_t row_g8, int s, uint32_t (&a)[4]) {
    const int w = 2 * (s % 2);
    a[0] = nibble_pair(row_g, w), a[1] = nibble_pair(row_g8, w);
    a[2] = nibble_pair(row_g, w + 1), a[3] = nibble_pair(row_g8, w + 1);
}

// The output is computed transposed, Oᵀ += Vᵀ·Pᵀ, so that its tiles' 16 rows are all head elements and
// its 8 columns the CTA's 8 heads (with the heads as rows half of every output tile would be padding). A
// transposed ldmatrix of a chunk of value codes gives lane (g, t) one word per 8 keys: keys 2t and 2t+1 in
// its halves, each with the elements of column g (q8: 2 elements, q4: 4). Output tile j of a chunk has rows
// g and g+8 at two of those elements:
//   q8: one tile, elements 2g (row g) and 2g + 1 (row g + 8) of the chunk's 16, codes 1152 + c;
//   q4: tile 0 elements 4g and 4g + 2 (nibbles 0 and 2 of a half: 1024 + c), tile 1 elements 4g + 1 and
//       4g + 3 (nibbles 1 and 3: 64 + c), of the chunk's 32; the value is c − 8.
template <KvFormat F>
struct ValueTiles {
    static constexpr int kPerChunk = F == KvFormat::Q8 ? 1 : 2;
    // The chunk element of output tile j's row (0..15).
    __device__ static __forceinline__ int element(int j, int row) {
        const int g = row % 8, upper = row / 8;
        return F == KvFormat::Q8 ? 2 * g + upper : 4 * g + 2 * upper + j;
    }
    // What tile j's fragments hold above the value: q4's exponent value (1024 or 64) plus the code's offset 8.
    static constexpr float bias(int j) { return F == KvFormat::Q8 ? kQ8Bias : (j == 0 ? 1024.0f : 64.0f) + 8.0f; }
    // A fragment of tile j from the words of keys 2t.. (first) and 2t+8.. (second) of a k-slice: the biased
    // codes.
    __device__ static __forceinline__ void fragment(uint32_t first, uint32_t second, int j, uint32_t (&a)[4]) {
        if constexpr (F == KvFormat::Q8) {
            const uint32_t f = first ^ 0x80808080u, s = second ^ 0x80808080u;
            a[0] = byte_pair(f, 0, 2), a[1] = byte_pair(f, 1, 3), a[2] = byte_pair(s, 0, 2), a[3] = byte_pair(s, 1, 3);
        } else {
            const uint32_t words[4] = {first, first >> 8, second, second >> 8};
#pragma unroll
            for (int i = 0; i < 4; ++i) a[i] = j == 0 ? low_nibble_pair(words[i]) : high_nibble_pair(words[i]);
        }
    }
};

// q4's unfinished group, whose values are fp32 rows (rotated) of the pending buffer: Oᵀ += Vᵀ·Pᵀ with P as
// it is (no scale) and Vᵀ's A fragments made from the rows, row k at values + k · stride, zeros from row
// valid_keys on. Output tile j of a chunk holds at rows g and g + 8 the chunk's elements 4g + j and
// 4g + 2 + j (ValueTiles<Q4>::element): one 16-byte load a key and chunk gives both tiles.
template <int HeadDim>
__device__ __forceinline__ void add_pending_values(float (&o)[HeadDim / 16][4], const uint32_t (&p_pairs)[4],
                                                   const float* values, int stride, int valid_keys, int g, int t) {
    constexpr int kChunks = HeadDim / 32;
#pragma unroll
    for (int ks = 0; ks < 2; ++ks) {
        const uint32_t pb[2] = {p_pairs[2 * ks], p_pairs[2 * ks + 1]};  // keys 2t, 2t+1 and 2t+8, 2t+9 of head g
#pragma unroll
        for (int chunk = 0; chunk < kChunks; ++chunk) {
            float4 x[4];  // keys 2t, 2t + 1, 2t + 8, 2t + 9 of the k-slice
#pragma unroll
            for (int k = 0; k < 4; ++k) {
                const int key = 16 * ks + 2 * t + 8 * (k / 2) + k % 2;
                x[k] = key < valid_keys ? __ldg(reinterpret_cast<const float4*>(values + key * stride + 32 * chunk + 4 * g))
                                        : make_float4(0, 0, 0, 0);
            }
            const uint32_t tile0[4] = {pack_pair(x[0].x, x[1].x), pack_pair(x[0].z, x[1].z), pack_pair(x[2].x, x[3].x),
                                       pack_pair(x[2].z, x[3].z)};
            const uint32_t tile1[4] = {pack_pair(x[0].y, x[1].y), pack_pair(x[0].w, x[1].w), pack_pair(x[2].y, x[3].y),
                                       pack_pair(x[2].w, x[3].w)};
            mma::mma_m16n8k16<KernelPath::TensorCoreSm80, __half>(o[2 * chunk], tile0, pb);
            mma::mma_m16n8k16<KernelPath::TensorCoreSm80, __half>(o[2 * chunk + 1], tile1, pb);
        }
    }
}

}  // namespace attn::cuda::decode_mma
