#pragma once
// Unicode Normalization Form C (canonical decomposition, canonical ordering, canonical composition),
// the NFC normalizer of Qwen2-style tokenizers.
#include <string>
#include <string_view>

namespace attn::tokenizer {

// `text` must be valid UTF-8.
std::string to_nfc(std::string_view text);

}  // namespace attn::tokenizer
