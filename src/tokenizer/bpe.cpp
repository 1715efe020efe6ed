// Merging follows HF's Word::merge_all: a min-heap of candidate pairs ordered by (merge rank, position),
// re-validated when popped because earlier merges may have consumed one side. O(n log n) per word, so a
// whole SentencePiece-style input (no pre-tokenizer: one "word") stays fast.
#include "src/tokenizer/bpe.h"

#include <queue>

#include <nlohmann/json.hpp>

#include "src/common/error.h"
#include "src/tokenizer/utf8.h"

namespace attn::tokenizer {

struct BpeModel::Symbol {
    int32_t id;
    int32_t prev;   // index of the previous live symbol, -1 at the start
    int32_t next;   // index of the next live symbol, -1 at the end
    size_t bytes;   // 0 once merged into its left neighbour
};

namespace {

std::string optional_string(const nlohmann::json& spec, const char* key) {
    const auto it = spec.find(key);
    return it == spec.end() || it->is_null() ? std::string() : it->get<std::string>();
}

std::pair<std::string, std::string> parse_merge(const nlohmann::json& merge, size_t rank) {
    if (merge.is_array() && merge.size() == 2) return {merge[0].get<std::string>(), merge[1].get<std::string>()};
    if (merge.is_string()) {
        const std::string line = merge.get<std::string>();
        const size_t space = line.find(' ');
        if (space != std::string::npos && line.find(' ', space + 1) == std::string::npos)
            return {line.substr(0, space), line.substr(space + 1)};
    }
    throw Error("BPE merge #" + std::to_string(rank + 1) + " (" + merge.dump() +
                ") is neither \"left right\" nor [left, right]");
}

}  // namespace

BpeModel BpeModel::from_json(const nlohmann::json& spec) {
    const std::string type = spec.value("type", std::string("BPE"));
    if (type != "BPE")
        throw Error("model type '" + type + "' is not supported (only BPE; WordPiece, Unigram and WordLevel are not)");
    if (spec.contains("dropout") && !spec.at("dropout").is_null() && spec.at("dropout").get<double>() > 0.0)
        throw Error("BPE dropout is not supported: it makes encoding random");

    BpeModel model;
    const auto& vocab = spec.at("vocab");
    if (!vocab.is_object()) throw Error("BPE vocab must be an object mapping tokens to ids");
    int32_t max_id = -1;
    for (const auto& [token, id] : vocab.items()) {
        const int32_t value = id.get<int32_t>();
        if (value < 0) throw Error("BPE vocab gives token '" + token + "' the negative id " + std::to_string(value));
        max_id = std::max(max_id, value);
    }
    model.tokens_.resize(static_cast<size_t>(max_id + 1));
    model.has_token_.resize(model.tokens_.size());
    for (const auto& [token, id] : vocab.items()) {
        model.tokens_[id.get<int32_t>()] = token;
        model.has_token_[id.get<int32_t>()] = true;
    }
    for (size_t id = 0; id < model.tokens_.size(); ++id)
        if (model.has_token_[id]) model.vocab_[model.tokens_[id]] = static_cast<int32_t>(id);

    model.continuing_subword_prefix_ = optional_string(spec, "continuing_subword_prefix");
    model.end_of_word_suffix_ = optional_string(spec, "end_of_word_suffix");
    model.byte_fallback_ = spec.value("byte_fallback", false);
    model.fuse_unk_ = spec.value("fuse_unk", false);
    model.ignore_merges_ = spec.value("ignore_merges", false);
    if (const std::string unk = optional_string(spec, "unk_token"); !unk.empty()) {
        model.unk_id_ = model.token_to_id(unk);
        if (!model.unk_id_) throw Error("BPE unk_token '" + unk + "' is not in the vocabulary");
    }
    static const char* kHex = "0123456789ABCDEF";
    for (int byte = 0; byte < 256; ++byte) {
        const std::string name = std::string("<0x") + kHex[byte >> 4] + kHex[byte & 15] + ">";
        model.byte_fallback_ids_[byte] = model.token_to_id(name).value_or(-1);
    }

    const auto& merges = spec.at("merges");
    for (size_t rank = 0; rank < merges.size(); ++rank) {
        const auto [left, right] = parse_merge(merges[rank], rank);
        // As HF: the right side loses the continuing-subword prefix in the merged token.
        const std::string merged = left + right.substr(std::min(right.size(), model.continuing_subword_prefix_.size()));
        const auto left_id = model.token_to_id(left), right_id = model.token_to_id(right);
        const auto merged_id = model.token_to_id(merged);
        if (!left_id || !right_id || !merged_id)
            throw Error("BPE merge #" + std::to_string(rank + 1) + " '" + left + " " + right +
                        "' uses or makes a token that is not in the vocabulary");
        // Later duplicates win, as in HF's HashMap collect.
        model.merges_[pair_key(*left_id, *right_id)] = {static_cast<uint32_t>(rank), *merged_id};
    }
    return model;
}

std::optional<int32_t> BpeModel::token_to_id(std::string_view token) const {
    const auto it = vocab_.find(token);
    if (it == vocab_.end()) return std::nullopt;
    return it->second;
}

const std::string* BpeModel::id_to_token(int32_t id) const {
    if (id < 0 || id >= id_limit() || !has_token_[id]) return nullptr;
    return &tokens_[id];
}

// One symbol per character; a character outside the vocabulary becomes its <0xNN> byte tokens
// (byte_fallback), else the unknown token (runs fused when fuse_unk), else nothing, as in HF's merge_word.
std::vector<BpeModel::Symbol> BpeModel::initial_symbols(std::string_view word) const {
    std::vector<Symbol> symbols;
    symbols.reserve(word.size());
    auto add = [&symbols](int32_t id, size_t bytes) {
        const auto index = static_cast<int32_t>(symbols.size());
        if (index > 0) symbols.back().next = index;
        symbols.push_back({id, index - 1, -1, bytes});
    };
    size_t unk_bytes = 0;  // length of an unknown run not yet added (at most one while fuse_unk)
    auto add_pending_unk = [&] {
        if (unk_bytes > 0) add(*unk_id_, unk_bytes);
        unk_bytes = 0;
    };
    std::string piece;
    for (size_t pos = 0; pos < word.size();) {
        const size_t bytes = char_length(static_cast<unsigned char>(word[pos]));
        piece.clear();
        if (pos > 0) piece += continuing_subword_prefix_;
        piece.append(word.substr(pos, bytes));
        if (pos + bytes == word.size()) piece += end_of_word_suffix_;
        pos += bytes;

        if (const auto id = token_to_id(piece)) {
            add_pending_unk();
            add(*id, bytes);
            continue;
        }
        if (byte_fallback_) {
            bool all_known = true;
            for (unsigned char byte : piece) all_known = all_known && byte_fallback_ids_[byte] >= 0;
            if (all_known) {
                for (unsigned char byte : piece) add(byte_fallback_ids_[byte], 1);
                continue;
            }
        }
        if (!unk_id_) continue;
        if (!fuse_unk_) add_pending_unk();
        unk_bytes += bytes;
    }
    add_pending_unk();
    return symbols;
}

void BpeModel::merge_all(std::vector<Symbol>& symbols) const {
    struct Candidate {
        uint32_t rank;
        int32_t pos;
        int32_t new_id;
        bool operator>(const Candidate& other) const {
            return rank != other.rank ? rank > other.rank : pos > other.pos;
        }
    };
    std::priority_queue<Candidate, std::vector<Candidate>, std::greater<Candidate>> queue;
    auto push_pair = [&](int32_t left) {
        const int32_t right = symbols[left].next;
        if (right < 0) return;
        const auto it = merges_.find(pair_key(symbols[left].id, symbols[right].id));
        if (it != merges_.end()) queue.push({it->second.rank, left, it->second.new_id});
    };
    for (int32_t i = 0; i + 1 < static_cast<int32_t>(symbols.size()); ++i) push_pair(i);

    while (!queue.empty()) {
        const Candidate top = queue.top();
        queue.pop();
        Symbol& left = symbols[top.pos];
        if (left.bytes == 0 || left.next < 0) continue;
        const int32_t right_pos = left.next;
        Symbol& right = symbols[right_pos];
        // A stale candidate: one side has been merged into something else since it was queued.
        const auto it = merges_.find(pair_key(left.id, right.id));
        if (it == merges_.end() || it->second.new_id != top.new_id) continue;

        left.id = top.new_id;
        left.bytes += right.bytes;
        left.next = right.next;
        right.bytes = 0;
        if (right.next >= 0) symbols[right.next].prev = top.pos;
        if (left.prev >= 0) push_pair(left.prev);
        push_pair(top.pos);
    }
}

void BpeModel::tokenize(std::string_view word, std::vector<int32_t>& ids) const {
    if (word.empty()) return;
    if (ignore_merges_) {
        if (const auto id = token_to_id(word)) {
            ids.push_back(*id);
            return;
        }
    }
    std::vector<Symbol> symbols = initial_symbols(word);
    merge_all(symbols);
    for (const Symbol& symbol : symbols)
        if (symbol.bytes > 0) ids.push_back(symbol.id);
}

}  // namespace attn::tokenizer
