#pragma once
// What the generator needs from a loaded model, whatever device runs it: feed tokens, get logits.
#include <cstddef>
#include <cstdint>
#include <string>
#include <vector>

#include "src/model/config.h"
#include "src/runtime/sampler.h"

namespace attn {

class Model {
public:
    virtual ~Model() = default;
    virtual const ModelConfig& config() const = 0;
    // Appends `tokens` to the sequence (positions n_past() ...). `logits` receives the last token's
    // logits ([vocab]) or, with all_logits, every fed token's ([n][vocab]).
    virtual void forward(const std::vector<int32_t>& tokens, bool all_logits, std::vector<float>& logits) = 0;
    // Feeds `tokens` and draws the next token. Devices that sample on their own (the GPU) override this
    // so that logits never leave the device; `history` (prompt + generated) feeds the repetition penalty.
    virtual int32_t forward_and_sample(const std::vector<int32_t>& tokens, Sampler& sampler,
                                       const std::vector<int32_t>& history) {
        forward(tokens, false, logits_);
        return sampler.sample(logits_, history);
    }
    virtual int n_past() const = 0;
    virtual int context_size() const = 0;
    virtual size_t kv_cache_bytes() const = 0;  // scales, tables and exact rows included
    virtual void reset() = 0;
    virtual std::string description() const = 0;  // device, backend, cache: for the log

private:
    std::vector<float> logits_;
};

}  // namespace attn
