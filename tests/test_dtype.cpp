// fp32 -> fp16 must round to nearest, ties to even, exactly as the hardware conversion (__float2half_rn)
// does; checked against f16_to_f32 over every fp16 bit pattern rather than a few hand-picked values.
#include <catch2/catch.hpp>
#include <cmath>

#include "src/loader/dtype.h"

namespace {

bool is_f16_nan(uint16_t bits) {
    return (bits & 0x7c00) == 0x7c00 && (bits & 0x03ff) != 0;
}

}  // namespace

TEST_CASE("f32_to_f16 inverts f16_to_f32 on every fp16 bit pattern", "[loader][dtype]") {
    for (uint32_t bits = 0; bits <= 0xffff; ++bits) {
        const uint16_t half = uint16_t(bits);
        const float value = attn::f16_to_f32(half);
        INFO("fp16 bits 0x" << std::hex << bits);
        if (is_f16_nan(half)) {
            REQUIRE(std::isnan(value));
            const uint16_t back = attn::f32_to_f16(value);
            REQUIRE(is_f16_nan(back));
            REQUIRE((back & 0x8000) == (half & 0x8000));
        } else {
            REQUIRE(attn::f32_to_f16(value) == half);  // finite values, ±0 and ±inf round-trip exactly
        }
    }
}

TEST_CASE("f32_to_f16 rounds to nearest, ties to even, between every pair of neighbouring fp16 values",
          "[loader][dtype]") {
    for (uint32_t bits = 0; bits <= 0xffff; ++bits) {
        const uint16_t lower = uint16_t(bits);
        if ((lower & 0x7fff) >= 0x7bff) continue;  // the neighbour above would be inf or nan
        // Same sign, so bits + 1 is the next value away from zero.
        const uint16_t upper = uint16_t(lower + 1);
        const float low = attn::f16_to_f32(lower);
        const float high = attn::f16_to_f32(upper);
        // fp16 has 11 significant bits, so the midpoint is exact in fp32.
        const float midpoint = (low + high) / 2;
        INFO("fp16 bits 0x" << std::hex << bits);
        REQUIRE(attn::f32_to_f16(midpoint) == ((lower & 1) == 0 ? lower : upper));
        REQUIRE(attn::f32_to_f16(std::nextafter(midpoint, low)) == lower);
        REQUIRE(attn::f32_to_f16(std::nextafter(midpoint, high)) == upper);
    }
}

TEST_CASE("f32_to_f16 saturates to infinity past the largest finite fp16", "[loader][dtype]") {
    // 65520 is halfway between 65504 (0x7bff, odd) and the next step 65536, which is inf.
    CHECK(attn::f32_to_f16(std::nextafter(65520.0f, 0.0f)) == 0x7bff);
    CHECK(attn::f32_to_f16(65520.0f) == 0x7c00);
    CHECK(attn::f32_to_f16(-65520.0f) == 0xfc00);
    CHECK(attn::f32_to_f16(1e30f) == 0x7c00);
    CHECK(attn::f32_to_f16(-1e30f) == 0xfc00);
    CHECK(attn::f32_to_f16(1e-30f) == 0x0000);
    CHECK(attn::f32_to_f16(-1e-30f) == 0x8000);
}
