// Filters follow the order of HF's logits processors and llama.cpp's default chain: penalty, temperature,
// top-k, then top-p and min-p on the probabilities renormalised over the survivors of the previous filter.
#include "src/runtime/sampler.h"

#include <algorithm>
#include <cmath>
#include <string>

#include "src/common/error.h"

namespace attn {

namespace {

struct Candidate {
    int32_t id;
    float logit;
    double weight;  // exp(logit - max logit): an unnormalised probability
};

// Larger logit first; the lower id wins ties so that results do not depend on the partition algorithm.
bool higher_logit(const Candidate& a, const Candidate& b) {
    return a.logit > b.logit || (a.logit == b.logit && a.id < b.id);
}

void validate(const SamplingParams& params) {
    if (std::isnan(params.temperature)) throw Error("temperature is NaN; pass a number >= 0 (0 = greedy)");
    if (params.top_k < 0) throw Error("top_k is " + std::to_string(params.top_k) + "; pass 0 (off) or more");
    if (!(params.top_p >= 0.0f && params.top_p <= 1.0f))
        throw Error("top_p is " + std::to_string(params.top_p) + "; pass a value in [0, 1] (1 = off)");
    if (!(params.min_p >= 0.0f && params.min_p <= 1.0f))
        throw Error("min_p is " + std::to_string(params.min_p) + "; pass a value in [0, 1] (0 = off)");
    if (!(params.repeat_penalty > 0.0f))
        throw Error("repeat_penalty is " + std::to_string(params.repeat_penalty) + "; pass a value > 0 (1 = off)");
    if (params.repeat_last_n < -1)
        throw Error("repeat_last_n is " + std::to_string(params.repeat_last_n) + "; pass -1 (all), 0 (off) or more");
}

void check_no_nan(const std::vector<float>& logits) {
    for (size_t i = 0; i < logits.size(); ++i)
        if (std::isnan(logits[i]))
            throw Error("logits contain NaN (first at token " + std::to_string(i) +
                        "); the model produced invalid values, check the weights and the kernels");
}

// CTRL / HF repetition penalty: each distinct recent token is penalised once, however often it occurred.
void apply_repetition_penalty(std::vector<float>& logits, const std::vector<int32_t>& history,
                              const SamplingParams& params) {
    if (params.repeat_penalty == 1.0f || params.repeat_last_n == 0) return;
    const size_t window = params.repeat_last_n < 0 ? history.size()
                                                   : std::min(history.size(), size_t(params.repeat_last_n));
    std::vector<int32_t> recent(history.end() - std::ptrdiff_t(window), history.end());
    std::sort(recent.begin(), recent.end());
    recent.erase(std::unique(recent.begin(), recent.end()), recent.end());
    for (const int32_t id : recent) {
        if (id < 0 || size_t(id) >= logits.size())
            throw Error("history holds token id " + std::to_string(id) + ", outside the " +
                        std::to_string(logits.size()) + " logits; the tokenizer and the model disagree on vocab");
        float& logit = logits[size_t(id)];
        logit = logit > 0.0f ? logit / params.repeat_penalty : logit * params.repeat_penalty;
    }
}

// Keeps the smallest prefix (in descending order) whose probability mass reaches top_p, at least one token.
void keep_top_p(std::vector<Candidate>& candidates, double total_weight, float top_p) {
    const double target = double(top_p) * total_weight;
    double cumulative = 0.0;
    size_t kept = 0;
    while (kept < candidates.size()) {
        cumulative += candidates[kept++].weight;
        if (cumulative >= target) break;
    }
    candidates.resize(kept);
}

// A uniform double in [0, 1) from the top 53 bits: std::uniform_real_distribution is implementation-defined,
// and the same seed must give the same text with every standard library.
double uniform_unit(std::mt19937_64& rng) {
    return double(rng() >> 11) * 0x1.0p-53;
}

}  // namespace

int32_t argmax(const float* values, size_t count) {
    ATTN_ASSERT(count > 0);
    size_t best = 0;
    for (size_t i = 1; i < count; ++i)
        if (values[i] > values[best]) best = i;
    return int32_t(best);
}

Sampler::Sampler(const SamplingParams& params) : params_(params), rng_(params.seed) {
    validate(params_);
}

int32_t Sampler::sample(std::vector<float>& logits, const std::vector<int32_t>& history) {
    if (logits.empty()) throw Error("cannot sample from an empty logits vector");
    check_no_nan(logits);
    apply_repetition_penalty(logits, history, params_);
    if (params_.temperature <= 0.0f) return argmax(logits.data(), logits.size());

    for (float& logit : logits) logit /= params_.temperature;
    const int32_t best = argmax(logits.data(), logits.size());
    const float max_logit = logits[size_t(best)];
    // exp(x - max) is undefined when max is infinite: +inf (e.g. a tiny temperature overflowing) leaves no
    // other choice, and all -inf means the caller masked every token.
    if (max_logit == INFINITY) return best;
    if (max_logit == -INFINITY) throw Error("every logit is -inf, so no token can be sampled");

    std::vector<Candidate> candidates(logits.size());
    for (size_t i = 0; i < logits.size(); ++i) candidates[i] = {int32_t(i), logits[i], 0.0};

    // Top-k first, by a partial sort of k entries; top-p needs the survivors in order, min-p does not.
    const bool use_top_k = params_.top_k > 0 && size_t(params_.top_k) < candidates.size();
    const bool use_top_p = params_.top_p < 1.0f;
    if (use_top_k) {
        std::partial_sort(candidates.begin(), candidates.begin() + params_.top_k, candidates.end(), higher_logit);
        candidates.resize(size_t(params_.top_k));
    } else if (use_top_p) {
        std::sort(candidates.begin(), candidates.end(), higher_logit);
    }

    double total_weight = 0.0;
    for (Candidate& candidate : candidates) {
        candidate.weight = std::exp(double(candidate.logit) - double(max_logit));
        total_weight += candidate.weight;
    }
    if (use_top_p) keep_top_p(candidates, total_weight, params_.top_p);
    if (params_.min_p > 0.0f) {
        // The best token has weight exp(0) = 1, so p >= min_p * p_max is weight >= min_p.
        const double threshold = double(params_.min_p);
        candidates.erase(std::remove_if(candidates.begin(), candidates.end(),
                                        [&](const Candidate& c) { return c.weight < threshold; }),
                         candidates.end());
    }

    total_weight = 0.0;
    for (const Candidate& candidate : candidates) total_weight += candidate.weight;
    const double target = uniform_unit(rng_) * total_weight;
    double cumulative = 0.0;
    for (const Candidate& candidate : candidates) {
        cumulative += candidate.weight;
        if (target < cumulative) return candidate.id;
    }
    return candidates.back().id;  // rounding left target just at the total
}

}  // namespace attn
