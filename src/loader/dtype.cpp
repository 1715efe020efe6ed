#include "src/loader/dtype.h"

#include "src/common/error.h"

namespace attn {

size_t dtype_size_bytes(DType dtype) {
    return dtype == DType::F32 ? 4 : 2;
}

const char* dtype_name(DType dtype) {
    switch (dtype) {
        case DType::F32: return "F32";
        case DType::F16: return "F16";
        case DType::BF16: return "BF16";
    }
    return "?";
}

DType parse_safetensors_dtype(const std::string& name) {
    if (name == "F32") return DType::F32;
    if (name == "F16") return DType::F16;
    if (name == "BF16") return DType::BF16;
    throw Error("unsupported tensor dtype '" + name + "' (supported: F32, F16, BF16)");
}

uint16_t f32_to_f16(float value) {
    uint32_t word;
    std::memcpy(&word, &value, sizeof word);
    const uint16_t sign = uint16_t((word >> 16) & 0x8000);
    const uint32_t abs = word & 0x7fffffffu;
    if (abs >= 0x7f800000u) return sign | 0x7c00 | (abs > 0x7f800000u ? 0x200 : 0);  // inf / nan
    if (abs >= 0x477ff000u) return sign | 0x7c00;                                     // overflow
    if (abs < 0x38800000u) {  // result is fp16 subnormal or zero
        const uint32_t mantissa = (abs & 0x7fffff) | 0x800000;
        const int shift = 126 - int(abs >> 23);
        if (shift > 24) return sign;
        const uint32_t halfway = 1u << (shift - 1);
        uint32_t result = mantissa >> shift;
        const uint32_t rest = mantissa & ((1u << shift) - 1);
        if (rest > halfway || (rest == halfway && (result & 1))) ++result;
        return sign | uint16_t(result);
    }
    uint32_t result = ((abs >> 13) - (112u << 10));
    const uint32_t rest = abs & 0x1fff;
    if (rest > 0x1000 || (rest == 0x1000 && (result & 1))) ++result;
    return sign | uint16_t(result);
}

void convert_to_f32(DType dtype, const void* src, float* dst, size_t count) {
    switch (dtype) {
        case DType::F32:
            std::memcpy(dst, src, count * sizeof(float));
            return;
        case DType::F16:
        case DType::BF16: {
            // Tensors may start at odd offsets in a safetensors file: read each half through memcpy.
            const auto* bytes = static_cast<const uint8_t*>(src);
            const bool is_f16 = dtype == DType::F16;
            for (size_t i = 0; i < count; ++i) {
                uint16_t bits;
                std::memcpy(&bits, bytes + 2 * i, sizeof bits);
                dst[i] = is_f16 ? f16_to_f32(bits) : bf16_to_f32(bits);
            }
            return;
        }
    }
}

}  // namespace attn
