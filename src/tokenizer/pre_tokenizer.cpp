#include "src/tokenizer/pre_tokenizer.h"

#include <nlohmann/json.hpp>

#include "src/common/error.h"
#include "src/tokenizer/byte_level_alphabet.h"
#include "src/tokenizer/split_behavior.h"
#include "src/tokenizer/string_pattern.h"

namespace attn::tokenizer {

namespace {

// GPT-2's pattern, which ByteLevel applies when use_regex is true.
constexpr const char* kGpt2Pattern =
    R"('s|'t|'re|'ve|'m|'ll|'d| ?\p{L}+| ?\p{N}+| ?[^\s\p{L}\p{N}]+|\s+(?!\S)|\s+)";

// Splits every piece at the matches of `pattern`; the first sub-piece inherits at_text_start when it
// starts where its parent does.
void split_pieces(std::vector<TextPiece>& pieces, const StringPattern& pattern, SplitBehavior behavior,
                  bool invert) {
    std::vector<TextPiece> out;
    out.reserve(pieces.size());
    for (const TextPiece& piece : pieces) {
        for (const ByteRange& range : split_ranges(piece.text.size(), pattern.find_all(piece.text), behavior, invert)) {
            if (range.end == range.begin) continue;
            out.push_back({piece.text.substr(range.begin, range.end - range.begin),
                           piece.at_text_start && range.begin == 0});
        }
    }
    pieces = std::move(out);
}

class SplitPreTokenizer : public PreTokenizer {
public:
    SplitPreTokenizer(StringPattern pattern, SplitBehavior behavior, bool invert)
        : pattern_(std::move(pattern)), behavior_(behavior), invert_(invert) {}
    void pre_tokenize(std::vector<TextPiece>& pieces) const override {
        split_pieces(pieces, pattern_, behavior_, invert_);
    }

private:
    StringPattern pattern_;
    SplitBehavior behavior_;
    bool invert_;
};

// Optionally splits with GPT-2's regex, then spells every byte with the byte-level alphabet.
class ByteLevelPreTokenizer : public PreTokenizer {
public:
    ByteLevelPreTokenizer(bool add_prefix_space, bool use_regex)
        : add_prefix_space_(add_prefix_space),
          gpt2_split_(use_regex ? std::make_unique<SplitPreTokenizer>(StringPattern::regex(kGpt2Pattern),
                                                                       SplitBehavior::Isolated, false)
                                : nullptr) {}
    void pre_tokenize(std::vector<TextPiece>& pieces) const override {
        if (add_prefix_space_)
            for (TextPiece& piece : pieces)
                if (piece.text.front() != ' ') piece.text.insert(0, " ");
        if (gpt2_split_) gpt2_split_->pre_tokenize(pieces);
        const auto& chars = byte_level_chars();
        for (TextPiece& piece : pieces) {
            std::string spelled;
            spelled.reserve(piece.text.size() * 2);
            for (unsigned char byte : piece.text) spelled += chars[byte];
            piece.text = std::move(spelled);
        }
    }

private:
    bool add_prefix_space_;
    std::unique_ptr<SplitPreTokenizer> gpt2_split_;
};

enum class PrependScheme { Always, First, Never };

// SentencePiece's whitespace handling: spaces become the replacement ("▁"), which may be prepended and
// may start a new piece.
class MetaspacePreTokenizer : public PreTokenizer {
public:
    MetaspacePreTokenizer(std::string replacement, PrependScheme prepend_scheme, bool split)
        : replacement_(std::move(replacement)),
          space_(StringPattern::literal(" ")),
          replacement_pattern_(StringPattern::literal(replacement_)),
          prepend_scheme_(prepend_scheme),
          split_(split) {}
    void pre_tokenize(std::vector<TextPiece>& pieces) const override {
        for (TextPiece& piece : pieces) {
            piece.text = space_.replace_all(piece.text, replacement_);
            const bool prepend = prepend_scheme_ == PrependScheme::Always ||
                                 (prepend_scheme_ == PrependScheme::First && piece.at_text_start);
            if (prepend && piece.text.compare(0, replacement_.size(), replacement_) != 0)
                piece.text.insert(0, replacement_);
        }
        if (split_) split_pieces(pieces, replacement_pattern_, SplitBehavior::MergedWithNext, false);
    }

private:
    std::string replacement_;
    StringPattern space_;
    StringPattern replacement_pattern_;
    PrependScheme prepend_scheme_;
    bool split_;
};

class SequencePreTokenizer : public PreTokenizer {
public:
    explicit SequencePreTokenizer(std::vector<std::unique_ptr<PreTokenizer>> steps) : steps_(std::move(steps)) {}
    void pre_tokenize(std::vector<TextPiece>& pieces) const override {
        for (const auto& step : steps_) step->pre_tokenize(pieces);
    }

private:
    std::vector<std::unique_ptr<PreTokenizer>> steps_;
};

PrependScheme metaspace_prepend_scheme(const nlohmann::json& spec) {
    // Files written before prepend_scheme existed say add_prefix_space instead.
    if (!spec.contains("prepend_scheme"))
        return spec.value("add_prefix_space", true) ? PrependScheme::Always : PrependScheme::Never;
    const std::string scheme = spec.at("prepend_scheme").get<std::string>();
    if (scheme == "always") return PrependScheme::Always;
    if (scheme == "first") return PrependScheme::First;
    if (scheme == "never") return PrependScheme::Never;
    throw Error("Metaspace prepend_scheme '" + scheme + "' is not one of always, first, never");
}

}  // namespace

std::unique_ptr<PreTokenizer> make_pre_tokenizer(const nlohmann::json& spec) {
    if (spec.is_null()) return nullptr;
    const std::string type = spec.at("type").get<std::string>();
    if (type == "Sequence") {
        std::vector<std::unique_ptr<PreTokenizer>> steps;
        for (const auto& step : spec.at("pretokenizers"))
            if (auto pre_tokenizer = make_pre_tokenizer(step)) steps.push_back(std::move(pre_tokenizer));
        return std::make_unique<SequencePreTokenizer>(std::move(steps));
    }
    if (type == "ByteLevel")
        return std::make_unique<ByteLevelPreTokenizer>(spec.value("add_prefix_space", true), spec.value("use_regex", true));
    if (type == "Split")
        return std::make_unique<SplitPreTokenizer>(StringPattern::from_json(spec.at("pattern")),
                                                   parse_split_behavior(spec.at("behavior").get<std::string>()),
                                                   spec.value("invert", false));
    if (type == "Metaspace")
        return std::make_unique<MetaspacePreTokenizer>(spec.value("replacement", std::string("\u2581")),
                                                       metaspace_prepend_scheme(spec), spec.value("split", true));
    if (type == "Digits") {
        // Rust's char::is_numeric (\p{N}), one piece per digit or per run of digits.
        const bool individual = spec.value("individual_digits", false);
        return std::make_unique<SplitPreTokenizer>(StringPattern::regex(R"(\p{N})"),
                                                   individual ? SplitBehavior::Isolated : SplitBehavior::Contiguous,
                                                   false);
    }
    throw Error("pre_tokenizer type '" + type +
                "' is not supported (supported: ByteLevel, Split, Metaspace, Digits, Sequence)");
}

}  // namespace attn::tokenizer
