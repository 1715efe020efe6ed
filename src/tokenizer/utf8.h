#pragma once
// UTF-8 as the HF tokenizers library (Rust strings) sees it: text is valid UTF-8, and bytes that are not
// become U+FFFD exactly as Rust's String::from_utf8_lossy does (one per maximal invalid subpart).
#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

namespace attn::tokenizer {

// Byte length of the (valid) UTF-8 character starting with lead byte `lead`.
inline size_t char_length(unsigned char lead) {
    return lead < 0x80 ? 1 : lead < 0xE0 ? 2 : lead < 0xF0 ? 3 : 4;
}

// Decodes the valid character at text[pos]; the caller guarantees validity.
char32_t decode_char(std::string_view text, size_t pos);
void append_utf8(std::string& out, char32_t cp);

std::vector<char32_t> to_code_points(std::string_view valid_text);
std::string from_code_points(const std::vector<char32_t>& code_points);

bool is_valid_utf8(std::string_view bytes);
// Rust's from_utf8_lossy: every maximal invalid subpart becomes one U+FFFD.
std::string to_valid_utf8_lossy(std::string_view bytes);

bool ends_with_replacement_char(std::string_view text);

// Unicode White_Space, which is what `\s` means to both Oniguruma and Rust's regex crate.
bool is_white_space(char32_t cp);

}  // namespace attn::tokenizer
