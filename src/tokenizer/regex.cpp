#include "src/tokenizer/regex.h"

#define PCRE2_CODE_UNIT_WIDTH 8
#include <pcre2.h>

#include <memory>

#include "src/common/error.h"
#include "src/tokenizer/utf8.h"

namespace attn::tokenizer {

namespace {

// Unicode White_Space (Oniguruma's \s); PCRE2's \s lacks U+0085.
constexpr const char* kWhiteSpaceSet = R"(\t\n\x{0B}\f\r\x{20}\x{85}\x{A0}\x{1680}\x{2000}-\x{200A})"
                                       R"(\x{2028}\x{2029}\x{202F}\x{205F}\x{3000})";
// Oniguruma's Unicode \w: Letter, Mark, Decimal_Number, Connector_Punctuation.
constexpr const char* kWordSet = R"(\p{L}\p{M}\p{Nd}\p{Pc})";

struct MatchDataDeleter {
    void operator()(pcre2_match_data* data) const { pcre2_match_data_free(data); }
};

// The PCRE2 pattern with the meaning Oniguruma gives `pattern`.
std::string oniguruma_to_pcre2(const std::string& pattern) {
    std::string out;
    bool in_class = false;
    for (size_t i = 0; i < pattern.size(); ++i) {
        const char c = pattern[i];
        if (c == '\\' && i + 1 < pattern.size()) {
            const char escaped = pattern[++i];
            const char* set = escaped == 's' || escaped == 'S' ? kWhiteSpaceSet
                              : escaped == 'w' || escaped == 'W' ? kWordSet
                                                                 : nullptr;
            const bool negated = escaped == 'S' || escaped == 'W';
            if (set == nullptr) {
                out += '\\';
                out += escaped;
            } else if (!in_class) {
                out += negated ? "[^" : "[";
                out += set;
                out += ']';
            } else if (!negated) {
                out += set;
            } else {
                throw Error("pattern '" + pattern + "' uses \\" + escaped +
                            " inside a character class, which is not supported");
            }
            continue;
        }
        if (c == '[' && !in_class) {
            in_class = true;
            out += c;
            // A ']' right after '[' or '[^' is a literal member, not the end of the class.
            if (i + 1 < pattern.size() && pattern[i + 1] == '^') out += pattern[++i];
            if (i + 1 < pattern.size() && pattern[i + 1] == ']') out += pattern[++i];
            continue;
        }
        if (c == ']' && in_class) in_class = false;
        out += c;
    }
    return out;
}

}  // namespace

Regex::Regex(const std::string& oniguruma_pattern) {
    const std::string pattern = oniguruma_to_pcre2(oniguruma_pattern);
    int error_code = 0;
    PCRE2_SIZE error_offset = 0;
    code_ = pcre2_compile(reinterpret_cast<PCRE2_SPTR>(pattern.data()), pattern.size(), PCRE2_UTF | PCRE2_UCP,
                          &error_code, &error_offset, nullptr);
    if (code_ == nullptr) {
        PCRE2_UCHAR message[256];
        pcre2_get_error_message(error_code, message, sizeof(message));
        throw Error("regex '" + oniguruma_pattern + "' does not compile: " +
                    reinterpret_cast<const char*>(message) + " at offset " + std::to_string(error_offset));
    }
    // JIT is an optimisation only: when unavailable pcre2_match falls back to the interpreter.
    pcre2_jit_compile(code_, PCRE2_JIT_COMPLETE);
}

Regex::~Regex() { pcre2_code_free(code_); }

std::vector<ByteRange> Regex::find_all(std::string_view text) const {
    std::unique_ptr<pcre2_match_data, MatchDataDeleter> data(pcre2_match_data_create_from_pattern(code_, nullptr));
    std::vector<ByteRange> matches;
    const auto* subject = reinterpret_cast<PCRE2_SPTR>(text.data());
    size_t start = 0;
    while (start <= text.size()) {
        const int rc = pcre2_match(code_, subject, text.size(), start, PCRE2_NO_UTF_CHECK, data.get(), nullptr);
        if (rc == PCRE2_ERROR_NOMATCH) break;
        if (rc < 0) {
            PCRE2_UCHAR message[256];
            pcre2_get_error_message(rc, message, sizeof(message));
            throw Error(std::string("regex match failed: ") + reinterpret_cast<const char*>(message));
        }
        const PCRE2_SIZE* ovector = pcre2_get_ovector_pointer(data.get());
        matches.push_back({ovector[0], ovector[1]});
        if (ovector[1] > ovector[0]) {
            start = ovector[1];
        } else if (ovector[1] < text.size()) {
            start = ovector[1] + char_length(static_cast<unsigned char>(text[ovector[1]]));
        } else {
            break;
        }
    }
    return matches;
}

bool Regex::matches_at(std::string_view text, size_t pos) const {
    std::unique_ptr<pcre2_match_data, MatchDataDeleter> data(pcre2_match_data_create_from_pattern(code_, nullptr));
    return pcre2_match(code_, reinterpret_cast<PCRE2_SPTR>(text.data()), text.size(), pos,
                       PCRE2_NO_UTF_CHECK | PCRE2_ANCHORED, data.get(), nullptr) >= 0;
}

}  // namespace attn::tokenizer
