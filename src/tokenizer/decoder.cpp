#include "src/tokenizer/decoder.h"

#include <nlohmann/json.hpp>

#include "src/common/error.h"
#include "src/tokenizer/byte_level_alphabet.h"
#include "src/tokenizer/string_pattern.h"
#include "src/tokenizer/utf8.h"

namespace attn::tokenizer {

namespace {

int hex_value(char c) {
    if (c >= '0' && c <= '9') return c - '0';
    if (c >= 'a' && c <= 'f') return c - 'a' + 10;
    if (c >= 'A' && c <= 'F') return c - 'A' + 10;
    return -1;
}

// Byte-level spelling back to bytes. A token with a character outside the alphabet (an added token such
// as "<|im_start|> x") contributes its UTF-8 as is; invalid UTF-8 in the result becomes U+FFFD.
class ByteLevelDecoder : public Decoder {
public:
    void decode_chain(std::vector<std::string>& tokens) const override {
        std::string bytes;
        for (const std::string& token : tokens) {
            const size_t mark = bytes.size();
            bool all_mapped = true;
            for (size_t pos = 0; pos < token.size() && all_mapped;
                 pos += char_length(static_cast<unsigned char>(token[pos]))) {
                const auto byte = byte_level_byte(decode_char(token, pos));
                if (byte) bytes += static_cast<char>(*byte);
                all_mapped = byte.has_value();
            }
            if (!all_mapped) bytes.replace(mark, std::string::npos, token);
        }
        tokens.assign(1, to_valid_utf8_lossy(bytes));
    }
};

// Runs of <0xNN> tokens become the UTF-8 text they spell; a run that is not valid UTF-8 becomes one
// U+FFFD per byte (HF's rule, which differs from from_utf8_lossy).
class ByteFallbackDecoder : public Decoder {
public:
    void decode_chain(std::vector<std::string>& tokens) const override {
        std::vector<std::string> out;
        out.reserve(tokens.size());
        std::string run;
        auto flush = [&] {
            if (run.empty()) return;
            if (is_valid_utf8(run)) {
                out.push_back(run);
            } else {
                for (size_t i = 0; i < run.size(); ++i) out.emplace_back("\xEF\xBF\xBD");
            }
            run.clear();
        };
        for (std::string& token : tokens) {
            unsigned char byte = 0;
            if (parse_byte_token(token, byte)) {
                run += static_cast<char>(byte);
                continue;
            }
            flush();
            out.push_back(std::move(token));
        }
        flush();
        tokens = std::move(out);
    }
};

// SentencePiece's "▁" back to spaces; the first token loses every "▁" unless prepend_scheme is "never"
// (HF's rule: it removes the dummy prefix, and with it any other "▁" of that token).
class MetaspaceDecoder : public Decoder {
public:
    MetaspaceDecoder(std::string replacement, bool strip_first)
        : replacement_(StringPattern::literal(std::move(replacement))), strip_first_(strip_first) {}
    void decode_chain(std::vector<std::string>& tokens) const override {
        for (size_t i = 0; i < tokens.size(); ++i)
            tokens[i] = replacement_.replace_all(tokens[i], i == 0 && strip_first_ ? "" : " ");
    }

private:
    StringPattern replacement_;
    bool strip_first_;
};

class ReplaceDecoder : public Decoder {
public:
    ReplaceDecoder(StringPattern pattern, std::string content)
        : pattern_(std::move(pattern)), content_(std::move(content)) {}
    void decode_chain(std::vector<std::string>& tokens) const override {
        for (std::string& token : tokens) token = pattern_.replace_all(token, content_);
    }

private:
    StringPattern pattern_;
    std::string content_;
};

class FuseDecoder : public Decoder {
public:
    void decode_chain(std::vector<std::string>& tokens) const override {
        std::string fused;
        for (const std::string& token : tokens) fused += token;
        tokens.assign(1, std::move(fused));
    }
};

// Removes up to `start` leading and `stop` trailing copies of one character from every token.
class StripDecoder : public Decoder {
public:
    StripDecoder(std::string content, size_t start, size_t stop)
        : content_(std::move(content)), start_(start), stop_(stop) {}
    void decode_chain(std::vector<std::string>& tokens) const override {
        for (std::string& token : tokens) {
            size_t begin = 0, end = token.size();
            for (size_t n = 0; n < start_ && token.compare(begin, content_.size(), content_) == 0; ++n)
                begin += content_.size();
            for (size_t n = 0; n < stop_ && end >= begin + content_.size() &&
                               token.compare(end - content_.size(), content_.size(), content_) == 0;
                 ++n)
                end -= content_.size();
            token = token.substr(begin, end - begin);
        }
    }

private:
    std::string content_;
    size_t start_;
    size_t stop_;
};

class SequenceDecoder : public Decoder {
public:
    explicit SequenceDecoder(std::vector<std::unique_ptr<Decoder>> steps) : steps_(std::move(steps)) {}
    void decode_chain(std::vector<std::string>& tokens) const override {
        for (const auto& step : steps_) step->decode_chain(tokens);
    }

private:
    std::vector<std::unique_ptr<Decoder>> steps_;
};

bool metaspace_strips_first(const nlohmann::json& spec) {
    if (spec.contains("prepend_scheme")) return spec.at("prepend_scheme").get<std::string>() != "never";
    return spec.value("add_prefix_space", true);
}

}  // namespace

bool parse_byte_token(const std::string& token, unsigned char& byte) {
    if (token.size() != 6 || token.compare(0, 3, "<0x") != 0 || token[5] != '>') return false;
    // Rust's u8::from_str_radix, which HF uses, also accepts a leading '+'.
    const int high = token[3] == '+' ? 0 : hex_value(token[3]);
    const int low = hex_value(token[4]);
    if (high < 0 || low < 0) return false;
    byte = static_cast<unsigned char>(high * 16 + low);
    return true;
}

std::unique_ptr<Decoder> make_decoder(const nlohmann::json& spec) {
    if (spec.is_null()) return nullptr;
    const std::string type = spec.at("type").get<std::string>();
    if (type == "ByteLevel") return std::make_unique<ByteLevelDecoder>();
    if (type == "ByteFallback") return std::make_unique<ByteFallbackDecoder>();
    if (type == "Fuse") return std::make_unique<FuseDecoder>();
    if (type == "Metaspace")
        return std::make_unique<MetaspaceDecoder>(spec.value("replacement", std::string("\u2581")),
                                                  metaspace_strips_first(spec));
    if (type == "Replace")
        return std::make_unique<ReplaceDecoder>(StringPattern::from_json(spec.at("pattern")),
                                                spec.at("content").get<std::string>());
    if (type == "Strip")
        return std::make_unique<StripDecoder>(spec.at("content").get<std::string>(), spec.at("start").get<size_t>(),
                                              spec.at("stop").get<size_t>());
    if (type == "Sequence") {
        std::vector<std::unique_ptr<Decoder>> steps;
        for (const auto& step : spec.at("decoders"))
            if (auto decoder = make_decoder(step)) steps.push_back(std::move(decoder));
        return std::make_unique<SequenceDecoder>(std::move(steps));
    }
    throw Error("decoder type '" + type +
                "' is not supported (supported: ByteLevel, Metaspace, Replace, ByteFallback, Fuse, Strip, Sequence)");
}

}  // namespace attn::tokenizer
