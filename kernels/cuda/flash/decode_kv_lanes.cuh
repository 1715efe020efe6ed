#pragma once
// What one lane of the split-K decode kernel (flash_decode.cu) holds of a K or V row, per cache format: the
// codes of its 8 elements (one load), decoded to floats *without* their scale, which comes apart. A lane's 8
// elements share one scale (q8's spans 32 elements, q4 values' the row), so the kernel applies it once per dot
// product (keys) or once per softmax weight (values) rather than once per element. q4 keys' channel scales
// and minimums are the same for 64 positions: the kernel loads them once per group of 32 into KeyChannels, and
// a key costs its 4 bytes of codes. Integer codes become floats by the exponent trick (2^23 + code read as a
// float, minus 2^23: one exact add) instead of the slower I2F conversion.
// KvChunk8 (kv_format.cuh) stays the decoder of the other kernels, which want the elements themselves.
#include <cstdint>

#include "kernels/cuda/kv_format.cuh"

namespace attn::cuda {

// The float 2^23 + byte `i` of `word`, minus `bias`.
__device__ __forceinline__ float float_of_byte(uint32_t word, int i, float bias) {
    return __int_as_float(__byte_perm(word, 0x4B000000u, 0x7440u + i)) - bias;
}

// The float 2^23 + nibble `i` of `word`, minus `bias`.
__device__ __forceinline__ float float_of_nibble(uint32_t word, int i, float bias) {
    return __int_as_float(0x4B000000u | ((word >> (4 * i)) & 0x0fu)) - bias;
}

constexpr float kTwo23 = 8388608.0f;

// q4 keys: a lane's 8 channels' scales d and minimums m for one key group (x = d·code + m).
struct KeyChannels {
    float scale[8], minimum[8];
};

// kScaled: decode() leaves out a scale that scale() gives; else the decoded values are complete.
// kByChannel: decode() takes the group's KeyChannels.
template <typename T, KvFormat F, bool IsValue>
struct DecodeLane;

template <typename T, bool IsValue>
struct DecodeLane<T, KvFormat::F16, IsValue> {
    static constexpr bool kScaled = false;
    static constexpr bool kByChannel = false;
    uint4 raw;
    __device__ __forceinline__ void fetch(const uint8_t* codes, const __half*) {
        raw = __ldg(reinterpret_cast<const uint4*>(codes));
    }
    __device__ __forceinline__ void zero() { raw = make_uint4(0, 0, 0, 0); }
    __device__ __forceinline__ void decode(float (&x)[8]) const { unpack8<T>(raw, x); }
    __device__ __forceinline__ float scale() const { return 1.0f; }
};

template <typename T, bool IsValue>
struct DecodeLane<T, KvFormat::Q8, IsValue> {
    static constexpr bool kScaled = true;
    static constexpr bool kByChannel = false;
    uint2 raw;
    __half d;
    __device__ __forceinline__ void fetch(const uint8_t* codes, const __half* scale) {
        raw = __ldg(reinterpret_cast<const uint2*>(codes));
        d = __ldg(scale);
    }
    __device__ __forceinline__ void zero() {
        raw = make_uint2(0, 0);
        d = __float2half(0.0f);
    }
    __device__ __forceinline__ void decode(float (&x)[8]) const {  // int8 q: 2^23 + (q + 128), the sign bit flipped
        const uint32_t low = raw.x ^ 0x80808080u, high = raw.y ^ 0x80808080u;
#pragma unroll
        for (int i = 0; i < 4; ++i) {
            x[i] = float_of_byte(low, i, kTwo23 + 128.0f);
            x[4 + i] = float_of_byte(high, i, kTwo23 + 128.0f);
        }
    }
    __device__ __forceinline__ float scale() const { return __half2float(d); }
};

template <typename T>
struct DecodeLane<T, KvFormat::Q4, true> {
    static constexpr bool kScaled = true;
    static constexpr bool kByChannel = false;
    uint32_t raw;  // element i is nibble i (low nibble first)
    __half d;
    __device__ __forceinline__ void fetch(const uint8_t* codes, const __half* scale) {
        raw = __ldg(reinterpret_cast<const uint32_t*>(codes));
        d = __ldg(scale);
    }
    __device__ __forceinline__ void zero() {
        raw = 0x88888888u;  // code 8 is 0
        d = __float2half(0.0f);
    }
    __device__ __forceinline__ void decode(float (&x)[8]) const {
#pragma unroll
        for (int i = 0; i < 8; ++i) x[i] = float_of_nibble(raw, i, kTwo23 + 8.0f);
    }
    __device__ __forceinline__ float scale() const { return __half2float(d); }
};

// q4 keys of a finished group: the codes, decoded with the group's channel scales and minimums.
template <typename T>
struct DecodeLane<T, KvFormat::Q4, false> {
    static constexpr bool kScaled = false;
    static constexpr bool kByChannel = true;
    uint32_t raw;
    __device__ __forceinline__ void fetch(const uint8_t* codes, const __half*) {
        raw = __ldg(reinterpret_cast<const uint32_t*>(codes));
    }
    __device__ __forceinline__ void zero() { raw = 0; }
    __device__ __forceinline__ void decode(float (&x)[8], const KeyChannels& channels) const {
#pragma unroll
        for (int i = 0; i < 8; ++i)
            x[i] = fmaf(channels.scale[i], float_of_nibble(raw, i, kTwo23), channels.minimum[i]);
    }
    __device__ __forceinline__ float scale() const { return 1.0f; }
};

// q4 keys and values of the unfinished group: fp32 rows of the pending buffers.
struct PendingRowLane {
    static constexpr bool kScaled = false;
    static constexpr bool kByChannel = false;
    uint4 low, high;
    __device__ __forceinline__ void fetch(const float* row) { load_exact8(row, low, high); }
    __device__ __forceinline__ void zero() { low = high = make_uint4(0, 0, 0, 0); }
    __device__ __forceinline__ void decode(float (&x)[8]) const { unpack_exact8(low, high, x); }
    __device__ __forceinline__ float scale() const { return 1.0f; }
};

}  // namespace attn::cuda
