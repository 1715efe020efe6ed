#pragma once
// Pre-tokenizer patterns are written for Oniguruma (what HF tokenizers compiles them with); we run them with
// PCRE2 + JIT after translating the few escapes whose meaning differs (\s, \S, \w, \W: Oniguruma uses the
// Unicode definitions, PCRE2 10.42 a narrower set even with PCRE2_UCP).
#include <cstddef>
#include <string>
#include <string_view>
#include <vector>

struct pcre2_real_code_8;

namespace attn::tokenizer {

struct ByteRange {
    size_t begin;
    size_t end;
};

class Regex {
public:
    // Throws attn::Error naming the pattern when PCRE2 rejects it.
    explicit Regex(const std::string& oniguruma_pattern);
    ~Regex();
    Regex(const Regex&) = delete;
    Regex& operator=(const Regex&) = delete;

    // Successive non-overlapping leftmost matches in `text` (valid UTF-8). An empty match is reported
    // and the search resumes one character further, as Oniguruma's iterator does.
    std::vector<ByteRange> find_all(std::string_view text) const;
    // Whether the pattern matches at exactly `pos` (anchored there).
    bool matches_at(std::string_view text, size_t pos) const;

private:
    pcre2_real_code_8* code_;
};

}  // namespace attn::tokenizer
