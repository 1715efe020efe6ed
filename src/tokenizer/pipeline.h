#pragma once
// The pipeline behind attn::Tokenizer, in HF's order: added tokens are split out of the raw text, the
// rest is normalized, pre-tokenized into words and run through BPE; the post-processor adds BOS & co.
#include <memory>
#include <optional>
#include <string>
#include <unordered_set>
#include <vector>

#include "src/tokenizer/added_tokens.h"
#include "src/tokenizer/bpe.h"
#include "src/tokenizer/decoder.h"
#include "src/tokenizer/normalizer.h"
#include "src/tokenizer/post_processor.h"
#include "src/tokenizer/pre_tokenizer.h"
#include "src/tokenizer/tokenizer.h"

namespace attn {

namespace tokenizer {

struct Pipeline {
    explicit Pipeline(BpeModel bpe) : model(std::move(bpe)) {}

    std::unique_ptr<Normalizer> normalizer;
    std::unique_ptr<PreTokenizer> pre_tokenizer;
    BpeModel model;
    std::unique_ptr<AddedVocabulary> added;  // refers to *normalizer
    std::unique_ptr<PostProcessor> post_processor;
    std::unique_ptr<Decoder> decoder;
    // HF skips by content when decoding with skip_special_tokens.
    std::unordered_set<std::string> special_contents;

    int32_t vocab_size = 0;
    std::optional<int32_t> bos_id;
    std::vector<int32_t> eos_ids;
    std::string chat_template;

    std::optional<int32_t> token_to_id(const std::string& token) const;
    // nullptr for an id that is neither an added token nor in the vocabulary.
    const std::string* id_to_token(int32_t id) const;
};

}  // namespace tokenizer

struct Tokenizer::Impl : tokenizer::Pipeline {
    explicit Impl(tokenizer::Pipeline pipeline) : Pipeline(std::move(pipeline)) {}
};

}  // namespace attn
