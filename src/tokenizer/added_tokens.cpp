#include "src/tokenizer/added_tokens.h"

#include <algorithm>

#include <nlohmann/json.hpp>

#include "src/common/error.h"
#include "src/tokenizer/normalizer.h"
#include "src/tokenizer/regex.h"
#include "src/tokenizer/utf8.h"

namespace attn::tokenizer {

namespace {

// Rust regex's Unicode \w, which HF uses for single_word.
bool is_word_char_at(std::string_view text, size_t pos) {
    static const Regex word_char(R"([\p{Alphabetic}\p{M}\p{Nd}\p{Pc}\x{200C}\x{200D}])");
    return word_char.matches_at(text, pos);
}

size_t previous_char_start(std::string_view text, size_t pos) {
    do --pos;
    while (pos > 0 && (static_cast<unsigned char>(text[pos]) & 0xC0) == 0x80);
    return pos;
}

// Start of the run of whitespace that ends at `end`.
size_t whitespace_run_start(std::string_view text, size_t end) {
    while (end > 0) {
        const size_t previous = previous_char_start(text, end);
        if (!is_white_space(decode_char(text, previous))) break;
        end = previous;
    }
    return end;
}

// End of the run of whitespace that starts at `begin`.
size_t whitespace_run_end(std::string_view text, size_t begin) {
    while (begin < text.size() && is_white_space(decode_char(text, begin)))
        begin += char_length(static_cast<unsigned char>(text[begin]));
    return begin;
}

}  // namespace

void AddedVocabulary::Matcher::add(const std::string& spelling, size_t token_index) {
    if (spelling.empty()) return;
    auto& bucket = by_first_byte_[static_cast<unsigned char>(spelling[0])];
    bucket.push_back({spelling, token_index});
    std::stable_sort(bucket.begin(), bucket.end(),
                     [](const Entry& a, const Entry& b) { return a.spelling.size() > b.spelling.size(); });
    empty_ = false;
}

std::pair<size_t, const AddedVocabulary::Matcher::Entry*> AddedVocabulary::Matcher::find_leftmost_longest(
    const std::string& text, size_t from) const {
    for (size_t start = from; start < text.size(); ++start)
        for (const Entry& entry : by_first_byte_[static_cast<unsigned char>(text[start])])
            if (text.compare(start, entry.spelling.size(), entry.spelling) == 0) return {start, &entry};
    return {text.size(), nullptr};
}

void AddedVocabulary::Matcher::split(const TextPiece& piece, const std::vector<AddedToken>& tokens,
                                     std::vector<Segment>& out) const {
    const std::string& text = piece.text;
    auto emit_text = [&](size_t begin, size_t end) {
        if (end > begin) out.push_back({{text.substr(begin, end - begin), piece.at_text_start && begin == 0}, {}});
    };
    size_t copied = 0;  // end of what has been emitted
    size_t search = 0;
    while (!empty_ && search < text.size()) {
        const auto [start_found, found] = find_leftmost_longest(text, search);
        if (found == nullptr) break;
        size_t start = start_found;
        size_t stop = start + found->spelling.size();
        search = stop;
        const AddedToken& token = tokens[found->token_index];
        if (token.single_word) {
            const bool word_before = start > 0 && is_word_char_at(text, previous_char_start(text, start));
            const bool word_after = stop < text.size() && is_word_char_at(text, stop);
            if (word_before || word_after) continue;
        }
        // lstrip may not reach back into what an earlier match already took.
        if (token.lstrip) start = std::max(whitespace_run_start(text, start), copied);
        if (token.rstrip) stop = whitespace_run_end(text, stop);
        emit_text(copied, start);
        out.push_back({{text.substr(start, stop - start), false}, token.id});
        copied = stop;
        search = stop;
    }
    emit_text(copied, text.size());
}

AddedVocabulary::AddedVocabulary(std::vector<AddedToken> tokens, const Normalizer* normalizer)
    : tokens_(std::move(tokens)), normalizer_(normalizer) {
    for (size_t i = 0; i < tokens_.size(); ++i) {
        const AddedToken& token = tokens_[i];
        index_by_id_[token.id] = i;
        if (!token.normalized) {
            raw_matcher_.add(token.content, i);
            continue;
        }
        std::string spelling = token.content;
        if (normalizer_) normalizer_->normalize(spelling);
        normalized_matcher_.add(spelling, i);
    }
}

std::vector<AddedToken> AddedVocabulary::parse(const nlohmann::json& added_tokens) {
    std::vector<AddedToken> tokens;
    if (added_tokens.is_null()) return tokens;
    for (const auto& spec : added_tokens) {
        AddedToken token;
        token.id = spec.at("id").get<int32_t>();
        token.content = spec.at("content").get<std::string>();
        token.single_word = spec.value("single_word", false);
        token.lstrip = spec.value("lstrip", false);
        token.rstrip = spec.value("rstrip", false);
        token.normalized = spec.value("normalized", true);
        token.special = spec.value("special", false);
        if (token.id < 0) throw Error("added token '" + token.content + "' has the negative id " + std::to_string(token.id));
        tokens.push_back(std::move(token));
    }
    return tokens;
}

std::vector<Segment> AddedVocabulary::split(const std::string& text) const {
    std::vector<Segment> raw;
    raw_matcher_.split({text, true}, tokens_, raw);
    std::vector<Segment> out;
    out.reserve(raw.size());
    for (Segment& segment : raw) {
        if (segment.id) {
            out.push_back(std::move(segment));
            continue;
        }
        if (normalizer_) normalizer_->normalize(segment.piece.text);
        if (segment.piece.text.empty()) continue;
        normalized_matcher_.split(segment.piece, tokens_, out);
    }
    return out;
}

const AddedToken* AddedVocabulary::find(int32_t id) const {
    const auto it = index_by_id_.find(id);
    return it == index_by_id_.end() ? nullptr : &tokens_[it->second];
}

}  // namespace attn::tokenizer
