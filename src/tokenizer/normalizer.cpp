#include "src/tokenizer/normalizer.h"

#include <vector>

#include <nlohmann/json.hpp>

#include "src/common/error.h"
#include "src/tokenizer/regex.h"
#include "src/tokenizer/string_pattern.h"
#include "src/tokenizer/unicode_nfc.h"

namespace attn::tokenizer {

namespace {

class SequenceNormalizer : public Normalizer {
public:
    explicit SequenceNormalizer(std::vector<std::unique_ptr<Normalizer>> steps) : steps_(std::move(steps)) {}
    void normalize(std::string& text) const override {
        for (const auto& step : steps_) step->normalize(text);
    }

private:
    std::vector<std::unique_ptr<Normalizer>> steps_;
};

// SentencePiece's dummy prefix ("▁"); HF prepends only to non-empty text.
class PrependNormalizer : public Normalizer {
public:
    explicit PrependNormalizer(std::string prefix) : prefix_(std::move(prefix)) {}
    void normalize(std::string& text) const override {
        if (!text.empty()) text.insert(0, prefix_);
    }

private:
    std::string prefix_;
};

class ReplaceNormalizer : public Normalizer {
public:
    ReplaceNormalizer(StringPattern pattern, std::string content)
        : pattern_(std::move(pattern)), content_(std::move(content)) {}
    void normalize(std::string& text) const override { text = pattern_.replace_all(text, content_); }

private:
    StringPattern pattern_;
    std::string content_;
};

class NfcNormalizer : public Normalizer {
public:
    void normalize(std::string& text) const override { text = to_nfc(text); }
};

}  // namespace

std::unique_ptr<Normalizer> make_normalizer(const nlohmann::json& spec) {
    if (spec.is_null()) return nullptr;
    const std::string type = spec.at("type").get<std::string>();
    if (type == "Sequence") {
        std::vector<std::unique_ptr<Normalizer>> steps;
        for (const auto& step : spec.at("normalizers"))
            if (auto normalizer = make_normalizer(step)) steps.push_back(std::move(normalizer));
        return std::make_unique<SequenceNormalizer>(std::move(steps));
    }
    if (type == "Prepend") return std::make_unique<PrependNormalizer>(spec.at("prepend").get<std::string>());
    if (type == "Replace")
        return std::make_unique<ReplaceNormalizer>(StringPattern::from_json(spec.at("pattern")),
                                                   spec.at("content").get<std::string>());
    if (type == "NFC") return std::make_unique<NfcNormalizer>();
    throw Error("normalizer type '" + type + "' is not supported (supported: Sequence, Prepend, Replace, NFC)");
}

}  // namespace attn::tokenizer
