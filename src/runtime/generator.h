#pragma once
// The generation loop: prefill the prompt in chunks, then sample one token at a time, streaming text
// as soon as it forms whole UTF-8 characters, until EOS, a stop token, -n tokens or a full context.
#include <cstdint>
#include <functional>
#include <string>
#include <vector>

#include "src/runtime/model.h"
#include "src/runtime/sampler.h"
#include "src/tokenizer/tokenizer.h"

namespace attn {

struct GenerationOptions {
    int max_new_tokens = 128;  // -1: until EOS or the context is full
    int prefill_chunk_tokens = 512;
    SamplingParams sampling;
};

struct GenerationResult {
    std::vector<int32_t> prompt_ids;
    std::vector<int32_t> generated_ids;
    std::string text;
    std::string stop_reason;  // "eos", "length", "context"
    double prompt_ms = 0;
    double generation_ms = 0;

    double prompt_tokens_per_s() const;
    double generation_tokens_per_s() const;
};

// Throws attn::Error when the prompt does not fit the context.
GenerationResult generate(Model& model, const Tokenizer& tokenizer, const std::vector<int32_t>& prompt_ids,
                          const GenerationOptions& options, const std::function<void(const std::string&)>& on_text);

}  // namespace attn
