// Streaming without re-decoding the history: ids_ holds a short window, a context of already emitted ids
// followed by pending ones, and emitted_bytes_ is the length of the context's own decoding. Text that
// decode(window) adds beyond that is what the pending ids contribute to decode(all), as long as
//  - the context starts with a token that is not skipped, so that decoders treating the first token
//    specially (Metaspace drops its "▁", Strip its leading space) see the same non-first tokens, and
//  - the context ends on a boundary no later token can change: not inside a UTF-8 character (the text
//    would end in U+FFFD) and not inside a run of <0xNN> byte tokens (ByteFallback turns a whole run
//    into U+FFFDs when any of it is invalid, so a run is held back until a normal token ends it).
#include "src/common/error.h"
#include "src/tokenizer/decoder.h"
#include "src/tokenizer/pipeline.h"
#include "src/tokenizer/utf8.h"

namespace attn {

namespace {

// Ids outside the vocabulary and skipped special tokens give the decoder nothing.
bool is_skipped(const tokenizer::Pipeline& pipeline, int32_t id, bool skip_special) {
    const std::string* token = pipeline.id_to_token(id);
    return token == nullptr || (skip_special && pipeline.special_contents.count(*token));
}

}  // namespace

StreamDecoder::StreamDecoder(const Tokenizer& tokenizer, bool skip_special_tokens)
    : tokenizer_(tokenizer), skip_special_(skip_special_tokens) {}

std::string StreamDecoder::push(int32_t id) {
    ids_.push_back(id);
    // The last id that reaches the decoder (skipped ids do not end a byte run). While it is a byte token
    // nothing can be emitted, so a long run costs no decoding until it ends.
    const tokenizer::Pipeline& pipeline = *tokenizer_.impl_;
    auto last_kept = ids_.rbegin();
    while (last_kept != ids_.rend() && is_skipped(pipeline, *last_kept, skip_special_)) ++last_kept;
    unsigned char byte = 0;
    if (last_kept != ids_.rend() && tokenizer::parse_byte_token(*pipeline.id_to_token(*last_kept), byte)) return {};

    const std::string text = tokenizer_.decode(ids_, skip_special_);
    ATTN_ASSERT(text.size() >= emitted_bytes_);
    if (tokenizer::ends_with_replacement_char(text)) return {};

    std::string fresh = text.substr(emitted_bytes_);
    // Everything is emitted: keep only the context the next ids need, from the last kept id on.
    if (last_kept == ids_.rend()) {
        ids_.clear();
    } else {
        ids_.erase(ids_.begin(), std::prev(last_kept.base()));
    }
    emitted_bytes_ = ids_.empty() ? 0 : tokenizer_.decode(ids_, skip_special_).size();
    return fresh;
}

std::string StreamDecoder::finish() {
    const std::string text = tokenizer_.decode(ids_, skip_special_);
    std::string rest = text.size() > emitted_bytes_ ? text.substr(emitted_bytes_) : std::string();
    ids_.clear();
    emitted_bytes_ = 0;
    return rest;
}

}  // namespace attn
