#include "src/tokenizer/byte_level_alphabet.h"

#include "src/tokenizer/utf8.h"

namespace attn::tokenizer {

namespace {

// bytes_to_unicode() of GPT-2's encoder.py: the code point standing for each byte.
std::array<char32_t, 256> build_code_points() {
    std::array<char32_t, 256> code_points{};
    char32_t next_unprintable = 256;
    for (int b = 0; b < 256; ++b) {
        const bool printable = (b >= 0x21 && b <= 0x7E) || (b >= 0xA1 && b <= 0xAC) || (b >= 0xAE && b <= 0xFF);
        code_points[b] = printable ? static_cast<char32_t>(b) : next_unprintable++;
    }
    return code_points;
}

const std::array<char32_t, 256>& code_points() {
    static const std::array<char32_t, 256> table = build_code_points();
    return table;
}

}  // namespace

const std::array<std::string, 256>& byte_level_chars() {
    static const std::array<std::string, 256> chars = [] {
        std::array<std::string, 256> out;
        for (int b = 0; b < 256; ++b) append_utf8(out[b], code_points()[b]);
        return out;
    }();
    return chars;
}

std::optional<unsigned char> byte_level_byte(char32_t cp) {
    // Every code point of the alphabet is below U+0144 (256 + 68 unprintable bytes).
    static const std::array<int, 0x144> reverse = [] {
        std::array<int, 0x144> out;
        out.fill(-1);
        for (int b = 0; b < 256; ++b) out[code_points()[b]] = b;
        return out;
    }();
    if (cp >= reverse.size() || reverse[cp] < 0) return std::nullopt;
    return static_cast<unsigned char>(reverse[cp]);
}

}  // namespace attn::tokenizer
