#pragma once
// tokenizer.json "pre_tokenizer": cuts normalized text into the words the model tokenizes one by one.
// Supported types: ByteLevel, Split, Metaspace, Digits, Sequence.
#include <memory>
#include <string>
#include <vector>

#include <nlohmann/json_fwd.hpp>

namespace attn::tokenizer {

// One piece of the input on its way to the model (a "split" of HF's PreTokenizedString).
struct TextPiece {
    std::string text;
    // Begins at offset 0 of the original input: Metaspace with prepend_scheme "first" adds "▁" only there.
    bool at_text_start = false;
};

class PreTokenizer {
public:
    virtual ~PreTokenizer() = default;
    // Replaces every piece by its sub-pieces; empty pieces are dropped, as HF does.
    virtual void pre_tokenize(std::vector<TextPiece>& pieces) const = 0;
};

// nullptr for a JSON null. Throws attn::Error for an unsupported type.
std::unique_ptr<PreTokenizer> make_pre_tokenizer(const nlohmann::json& spec);

}  // namespace attn::tokenizer
