#pragma once
// Next-token selection from logits: repetition penalty, then temperature, then top-k, top-p and min-p
// filtering, then a draw from a seeded generator (the same seed gives the same text). Temperature 0 is
// greedy (argmax, lowest id on ties, as torch.argmax).
#include <cstdint>
#include <random>
#include <vector>

namespace attn {

struct SamplingParams {
    float temperature = 0.8f;
    int top_k = 40;           // 0 = off
    float top_p = 0.95f;      // 1 = off
    float min_p = 0.05f;      // 0 = off; keeps tokens with p >= min_p * p_max
    float repeat_penalty = 1.0f;  // 1 = off; CTRL-style as HF: logit>0 ? logit/penalty : logit*penalty
    int repeat_last_n = 64;   // how many recent tokens the penalty looks at (0 = none, -1 = all)
    uint64_t seed = 0;
};

class Sampler {
public:
    explicit Sampler(const SamplingParams& params);
    // `history` is the prompt and everything generated so far (for the repetition penalty).
    // `logits` is modified in place (penalty and temperature are applied to it).
    int32_t sample(std::vector<float>& logits, const std::vector<int32_t>& history);
    const SamplingParams& params() const { return params_; }

private:
    SamplingParams params_;
    std::mt19937_64 rng_;
};

int32_t argmax(const float* values, size_t count);

}  // namespace attn
