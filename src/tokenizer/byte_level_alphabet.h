#pragma once
// GPT-2's reversible byte <-> unicode mapping: byte-level BPE vocabularies spell every byte as a printable
// character (printable Latin-1 bytes as themselves, the others as U+0100 + n), so " " becomes "Ġ".
#include <array>
#include <optional>
#include <string>

namespace attn::tokenizer {

// UTF-8 spelling of the character that stands for each byte.
const std::array<std::string, 256>& byte_level_chars();
// The byte a character stands for, or nothing when the character is not in the alphabet.
std::optional<unsigned char> byte_level_byte(char32_t cp);

}  // namespace attn::tokenizer
