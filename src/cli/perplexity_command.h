#pragma once
// `attn-infer perplexity`: how much a KV cache format costs in quality. Teacher-forces a text through
// the model once with the reference cache (--reference, default fp16) and once per tested cache
// (--kv-cache q8,q4), per attention backend, and reports for the next-token distributions: perplexity,
// its change against the reference, the mean KL divergence KL(reference || tested) and how often the
// top-1 token agrees. Models run in lockstep, chunk by chunk, so no logits are kept beyond one chunk.
#include <string>

#include "src/cli/measure_command.h"

namespace attn {

class PerplexityCommand final : public MeasureCommand {
public:
    explicit PerplexityCommand(CLI::App& app);
    int run() override;

private:
    std::string text_file_;
    std::string reference_ = "fp16";
    int max_tokens_ = 0;
};

}  // namespace attn
