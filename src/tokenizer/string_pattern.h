#pragma once
// The "pattern" of Split, Replace (normalizer and decoder): {"String": literal} or {"Regex": oniguruma}.
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include <nlohmann/json_fwd.hpp>

#include "src/tokenizer/regex.h"

namespace attn::tokenizer {

class StringPattern {
public:
    static StringPattern literal(std::string text);
    static StringPattern regex(const std::string& oniguruma_pattern);
    // Throws attn::Error unless spec is {"String": ...} or {"Regex": ...}.
    static StringPattern from_json(const nlohmann::json& spec);

    // Leftmost non-overlapping matches, as HF finds them.
    std::vector<ByteRange> find_all(std::string_view text) const;
    std::string replace_all(std::string_view text, std::string_view replacement) const;

private:
    std::string literal_;
    std::shared_ptr<const Regex> regex_;  // set for a Regex pattern; shared so that patterns copy cheaply
};

}  // namespace attn::tokenizer
