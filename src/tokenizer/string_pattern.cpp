#include "src/tokenizer/string_pattern.h"

#include <nlohmann/json.hpp>

#include "src/common/error.h"

namespace attn::tokenizer {

StringPattern StringPattern::literal(std::string text) {
    if (text.empty()) throw Error("a String pattern must not be empty");
    StringPattern pattern;
    pattern.literal_ = std::move(text);
    return pattern;
}

StringPattern StringPattern::regex(const std::string& oniguruma_pattern) {
    StringPattern pattern;
    pattern.regex_ = std::make_shared<const Regex>(oniguruma_pattern);
    return pattern;
}

StringPattern StringPattern::from_json(const nlohmann::json& spec) {
    if (spec.is_object() && spec.contains("String")) return literal(spec.at("String").get<std::string>());
    if (spec.is_object() && spec.contains("Regex")) return regex(spec.at("Regex").get<std::string>());
    throw Error("pattern " + spec.dump() + " is neither {\"String\": ...} nor {\"Regex\": ...}");
}

std::vector<ByteRange> StringPattern::find_all(std::string_view text) const {
    if (regex_) return regex_->find_all(text);
    std::vector<ByteRange> matches;
    for (size_t pos = text.find(literal_); pos != std::string_view::npos; pos = text.find(literal_, pos + literal_.size()))
        matches.push_back({pos, pos + literal_.size()});
    return matches;
}

std::string StringPattern::replace_all(std::string_view text, std::string_view replacement) const {
    std::string out;
    size_t copied = 0;
    for (const ByteRange& match : find_all(text)) {
        out.append(text.substr(copied, match.begin - copied));
        out.append(replacement);
        copied = match.end;
    }
    out.append(text.substr(copied));
    return out;
}

}  // namespace attn::tokenizer
