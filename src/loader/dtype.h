#pragma once
// Element types found in safetensors files, and exact scalar conversions to fp32.
#include <cstddef>
#include <cstdint>
#include <cstring>
#include <string>

namespace attn {

enum class DType { F32, F16, BF16 };

size_t dtype_size_bytes(DType dtype);
const char* dtype_name(DType dtype);
// Parses a safetensors dtype string ("F32", "F16", "BF16"); throws attn::Error for any other.
DType parse_safetensors_dtype(const std::string& name);

inline float bf16_to_f32(uint16_t bits) {
    uint32_t word = uint32_t(bits) << 16;
    float value;
    std::memcpy(&value, &word, sizeof value);
    return value;
}

inline float f16_to_f32(uint16_t bits) {
    const uint32_t sign = uint32_t(bits & 0x8000) << 16;
    uint32_t exponent = (bits >> 10) & 0x1f;
    uint32_t mantissa = bits & 0x3ff;
    uint32_t word;
    if (exponent == 0x1f) {
        word = sign | 0x7f800000u | (mantissa << 13);  // inf / nan
    } else if (exponent != 0) {
        word = sign | ((exponent + 112) << 23) | (mantissa << 13);
    } else if (mantissa == 0) {
        word = sign;
    } else {  // subnormal: normalise
        exponent = 113;
        while ((mantissa & 0x400) == 0) {
            mantissa <<= 1;
            --exponent;
        }
        word = sign | (exponent << 23) | ((mantissa & 0x3ff) << 13);
    }
    float value;
    std::memcpy(&value, &word, sizeof value);
    return value;
}

// Round-to-nearest-even fp32 -> fp16 (overflow saturates to inf, as the hardware conversion does).
uint16_t f32_to_f16(float value);

// Converts `count` elements of `dtype` at `src` into fp32 at `dst`.
void convert_to_f32(DType dtype, const void* src, float* dst, size_t count);

}  // namespace attn
