#pragma once
// tokenizer.json "added_tokens": special and user tokens found in the text before the model sees it.
// As HF's AddedVocabulary: tokens with normalized=false are matched in the raw text first; the text
// between them is normalized, then tokens with normalized=true are matched in it. Matching is leftmost-
// longest; single_word, lstrip and rstrip work as in HF.
#include <array>
#include <cstdint>
#include <optional>
#include <string>
#include <unordered_map>
#include <vector>

#include <nlohmann/json_fwd.hpp>

#include "src/tokenizer/pre_tokenizer.h"

namespace attn::tokenizer {

class Normalizer;

struct AddedToken {
    int32_t id = 0;
    std::string content;
    bool single_word = false;
    bool lstrip = false;
    bool rstrip = false;
    bool normalized = true;
    bool special = false;
};

// Text between added tokens (`id` empty, `piece` normalized) or one added token (`id` set).
struct Segment {
    TextPiece piece;
    std::optional<int32_t> id;
};

class AddedVocabulary {
public:
    // `normalizer` (may be null) must outlive this object.
    AddedVocabulary(std::vector<AddedToken> tokens, const Normalizer* normalizer);
    static std::vector<AddedToken> parse(const nlohmann::json& added_tokens);

    std::vector<Segment> split(const std::string& text) const;

    const AddedToken* find(int32_t id) const;
    const std::vector<AddedToken>& tokens() const { return tokens_; }

private:
    // Leftmost-longest search for a set of token spellings.
    class Matcher {
    public:
        void add(const std::string& spelling, size_t token_index);
        // Splits `text` around the tokens found in it.
        void split(const TextPiece& text, const std::vector<AddedToken>& tokens, std::vector<Segment>& out) const;

    private:
        struct Entry {
            std::string spelling;
            size_t token_index;
        };
        // The first match at or after `from`, the longest one there; nullptr when there is none.
        std::pair<size_t, const Entry*> find_leftmost_longest(const std::string& text, size_t from) const;

        // Entries grouped by first byte, longest first.
        std::array<std::vector<Entry>, 256> by_first_byte_;
        bool empty_ = true;
    };

    std::vector<AddedToken> tokens_;
    std::unordered_map<int32_t, size_t> index_by_id_;
    const Normalizer* normalizer_;
    Matcher raw_matcher_;         // normalized = false: matched before normalization
    Matcher normalized_matcher_;  // normalized = true: their normalized spelling, matched after it
};

}  // namespace attn::tokenizer
