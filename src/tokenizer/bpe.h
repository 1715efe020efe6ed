#pragma once
// tokenizer.json "model" of type BPE: a vocabulary, ranked merges, and the options the supported models
// use (byte_fallback and fuse_unk for SentencePiece conversions, ignore_merges for Llama 3).
#include <array>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <unordered_map>
#include <vector>

#include <nlohmann/json_fwd.hpp>

namespace attn::tokenizer {

class BpeModel {
public:
    // Throws attn::Error for a model that is not BPE or is inconsistent (a merge of unknown tokens).
    static BpeModel from_json(const nlohmann::json& spec);
    // Move-only: the vocabulary map holds views into the token strings.
    BpeModel(BpeModel&&) = default;
    BpeModel& operator=(BpeModel&&) = default;
    BpeModel(const BpeModel&) = delete;
    BpeModel& operator=(const BpeModel&) = delete;

    // Appends the ids of one pre-tokenized word.
    void tokenize(std::string_view word, std::vector<int32_t>& ids) const;

    std::optional<int32_t> token_to_id(std::string_view token) const;
    // nullptr for an id outside the vocabulary.
    const std::string* id_to_token(int32_t id) const;
    // One past the largest id of the vocabulary.
    int32_t id_limit() const { return static_cast<int32_t>(tokens_.size()); }

private:
    BpeModel() = default;

    struct Merge {
        uint32_t rank;
        int32_t new_id;
    };
    struct Symbol;

    std::vector<Symbol> initial_symbols(std::string_view word) const;
    void merge_all(std::vector<Symbol>& symbols) const;
    static uint64_t pair_key(int32_t left, int32_t right) {
        return (uint64_t(uint32_t(left)) << 32) | uint32_t(right);
    }

    std::vector<std::string> tokens_;            // by id; ids absent from the vocabulary hold ""
    std::vector<bool> has_token_;                // whether tokens_[id] is a vocabulary entry
    std::unordered_map<std::string_view, int32_t> vocab_;  // views into tokens_
    std::unordered_map<uint64_t, Merge> merges_;  // (left id, right id) -> rank and merged id
    std::array<int32_t, 256> byte_fallback_ids_{};  // id of "<0xNN>" per byte, -1 when absent
    std::optional<int32_t> unk_id_;
    std::string continuing_subword_prefix_;
    std::string end_of_word_suffix_;
    bool byte_fallback_ = false;
    bool fuse_unk_ = false;
    bool ignore_merges_ = false;
};

}  // namespace attn::tokenizer
