#pragma once
// tokenizer.json "normalizer": rewrites text before pre-tokenization. Supported types: Sequence, Prepend,
// Replace (String or Regex pattern), NFC. HF applies it to each piece of text between added tokens.
#include <memory>
#include <string>

#include <nlohmann/json_fwd.hpp>

namespace attn::tokenizer {

class Normalizer {
public:
    virtual ~Normalizer() = default;
    // `text` is valid UTF-8 and stays so.
    virtual void normalize(std::string& text) const = 0;
};

// nullptr for a JSON null. Throws attn::Error for an unsupported type.
std::unique_ptr<Normalizer> make_normalizer(const nlohmann::json& spec);

}  // namespace attn::tokenizer
