// Sampler: greedy ties, reproducibility by seed, each filter on a case where it decides the outcome, and the
// empirical distribution of many draws against the softmax it should follow.
#include <catch2/catch.hpp>
#include <cmath>
#include <set>

#include "src/common/error.h"
#include "src/runtime/sampler.h"

using Catch::Matchers::Contains;

namespace {

// Temperature sampling with every filter and the penalty off.
attn::SamplingParams plain(float temperature, uint64_t seed = 0) {
    attn::SamplingParams params;
    params.temperature = temperature;
    params.top_k = 0;
    params.top_p = 1.0f;
    params.min_p = 0.0f;
    params.repeat_penalty = 1.0f;
    params.seed = seed;
    return params;
}

std::vector<int32_t> draw_many(const attn::SamplingParams& params, const std::vector<float>& logits, int count) {
    attn::Sampler sampler(params);
    std::vector<int32_t> ids;
    for (int i = 0; i < count; ++i) {
        std::vector<float> scratch = logits;  // sample() rewrites its input
        ids.push_back(sampler.sample(scratch, {}));
    }
    return ids;
}

// Fraction of draws that picked each id.
std::vector<double> frequencies(const std::vector<int32_t>& ids, size_t vocab) {
    std::vector<double> counts(vocab, 0.0);
    for (const int32_t id : ids) counts[size_t(id)] += 1.0;
    for (double& count : counts) count /= double(ids.size());
    return counts;
}

std::vector<double> softmax(const std::vector<float>& logits) {
    double max_logit = logits[0];
    for (const float logit : logits) max_logit = std::max(max_logit, double(logit));
    std::vector<double> probs;
    double total = 0.0;
    for (const float logit : logits) total += probs.emplace_back(std::exp(double(logit) - max_logit));
    for (double& p : probs) p /= total;
    return probs;
}

double max_abs_difference(const std::vector<double>& a, const std::vector<double>& b) {
    double worst = 0.0;
    for (size_t i = 0; i < a.size(); ++i) worst = std::max(worst, std::abs(a[i] - b[i]));
    return worst;
}

const std::vector<float> kLogits = {0.0f, 0.5f, 1.0f, -1.0f, 2.0f, 0.2f, -0.5f, 1.5f};

}  // namespace

TEST_CASE("temperature 0 is argmax with the lowest id on ties", "[sampler]") {
    std::vector<float> logits = {1.0f, 3.0f, -2.0f, 3.0f, 2.5f};
    attn::Sampler sampler(plain(0.0f));
    CHECK(sampler.sample(logits, {}) == 1);
    CHECK(attn::argmax(logits.data(), logits.size()) == 1);

    const std::vector<float> all_equal(7, -4.0f);
    CHECK(attn::argmax(all_equal.data(), all_equal.size()) == 0);
    const std::vector<float> last = {-INFINITY, 0.0f, 9.0f};
    CHECK(attn::argmax(last.data(), last.size()) == 2);
}

TEST_CASE("the same seed gives the same sequence, another seed a different one", "[sampler]") {
    const std::vector<float> flat(50, 0.0f);
    const auto first = draw_many(plain(1.0f, 42), flat, 200);
    CHECK(draw_many(plain(1.0f, 42), flat, 200) == first);
    CHECK(draw_many(plain(1.0f, 43), flat, 200) != first);
    CHECK(std::set<int32_t>(first.begin(), first.end()).size() > 25);  // and it does explore the vocab
}

TEST_CASE("top-k 1 equals greedy", "[sampler]") {
    attn::SamplingParams params = plain(1.0f, 7);
    params.top_k = 1;
    attn::Sampler sampler(params);
    std::mt19937 make_logits(123);
    std::normal_distribution<float> normal(0.0f, 3.0f);
    for (int trial = 0; trial < 200; ++trial) {
        std::vector<float> logits(97);
        for (float& logit : logits) logit = normal(make_logits);
        if (trial % 10 == 0) logits[50] = logits[20] = 100.0f;  // a tie: the lower id must win
        const int32_t greedy = attn::argmax(logits.data(), logits.size());
        CHECK(sampler.sample(logits, {}) == greedy);
    }
}

TEST_CASE("top-k keeps the k most likely tokens, renormalised", "[sampler]") {
    attn::SamplingParams params = plain(1.0f, 5);
    params.top_k = 3;
    const auto freq = frequencies(draw_many(params, kLogits, 20000), kLogits.size());
    // Tokens 4, 7 and 2 (logits 2, 1.5, 1) survive.
    const std::vector<double> expected_top3 = softmax({2.0f, 1.5f, 1.0f});
    const std::vector<double> expected = {0, 0, expected_top3[2], 0, expected_top3[0], 0, 0, expected_top3[1]};
    CHECK(max_abs_difference(freq, expected) < 0.02);
}

TEST_CASE("a tiny top-p keeps only the top token", "[sampler]") {
    attn::SamplingParams params = plain(1.0f, 11);
    params.top_p = 1e-6f;
    for (const int32_t id : draw_many(params, kLogits, 1000)) CHECK(id == 4);
}

TEST_CASE("top-p keeps the smallest set reaching the mass", "[sampler]") {
    // Probabilities 0.5, 0.3, 0.2: top_p 0.7 needs the first two tokens, never the third.
    const std::vector<float> logits = {std::log(0.5f), std::log(0.3f), std::log(0.2f)};
    attn::SamplingParams params = plain(1.0f, 13);
    params.top_p = 0.7f;
    const auto freq = frequencies(draw_many(params, logits, 20000), logits.size());
    CHECK(freq[2] == 0.0);
    CHECK(std::abs(freq[0] - 0.625) < 0.02);
}

TEST_CASE("min-p drops tokens below min_p times the top probability", "[sampler]") {
    // Probabilities 0.5, 0.3, 0.15, 0.05; min_p 0.2 keeps p >= 0.1, so tokens 0 to 2.
    const std::vector<float> logits = {std::log(0.5f), std::log(0.3f), std::log(0.15f), std::log(0.05f)};
    attn::SamplingParams params = plain(1.0f, 17);
    params.min_p = 0.2f;
    const auto freq = frequencies(draw_many(params, logits, 20000), logits.size());
    CHECK(freq[3] == 0.0);
    const std::vector<double> expected = {0.5 / 0.95, 0.3 / 0.95, 0.15 / 0.95, 0.0};
    CHECK(max_abs_difference(freq, expected) < 0.02);
}

TEST_CASE("repetition penalty divides positive and multiplies negative logits, once per token", "[sampler]") {
    attn::SamplingParams params = plain(0.0f);
    params.repeat_penalty = 2.0f;
    attn::Sampler sampler(params);

    std::vector<float> logits = {2.0f, 1.5f, -1.0f, 0.5f};
    CHECK(sampler.sample(logits, {0, 2, 0, 0}) == 1);  // token 0 was the argmax before the penalty
    CHECK(logits == std::vector<float>{1.0f, 1.5f, -2.0f, 0.5f});

    SECTION("only the last repeat_last_n tokens count") {
        params.repeat_last_n = 1;
        attn::Sampler recent_only(params);
        std::vector<float> fresh = {2.0f, 1.5f, -1.0f, 0.5f};
        CHECK(recent_only.sample(fresh, {0, 3}) == 0);
        CHECK(fresh == std::vector<float>{2.0f, 1.5f, -1.0f, 0.25f});
    }
    SECTION("a history id outside the vocabulary is an error") {
        std::vector<float> fresh = {2.0f, 1.5f};
        CHECK_THROWS_WITH(sampler.sample(fresh, {5}), Contains("token id 5"));
    }
}

TEST_CASE("temperature 1 with no filters draws from the softmax", "[sampler]") {
    const auto freq = frequencies(draw_many(plain(1.0f, 2024), kLogits, 20000), kLogits.size());
    CHECK(max_abs_difference(freq, softmax(kLogits)) < 0.02);
}

TEST_CASE("temperature scales the logits before the softmax", "[sampler]") {
    const auto freq = frequencies(draw_many(plain(0.5f, 99), kLogits, 20000), kLogits.size());
    std::vector<float> sharpened = kLogits;
    for (float& logit : sharpened) logit *= 2.0f;
    CHECK(max_abs_difference(freq, softmax(sharpened)) < 0.02);
}

TEST_CASE("NaN logits and invalid parameters are errors", "[sampler]") {
    std::vector<float> logits = {0.0f, NAN, 1.0f};
    attn::Sampler sampler(plain(1.0f));
    CHECK_THROWS_WITH(sampler.sample(logits, {}), Contains("logits contain NaN"));
    attn::Sampler greedy(plain(0.0f));
    CHECK_THROWS_AS(greedy.sample(logits, {}), attn::Error);

    attn::SamplingParams params = plain(1.0f);
    params.top_p = 1.5f;
    CHECK_THROWS_WITH(attn::Sampler(params), Contains("top_p"));
    params = plain(1.0f);
    params.top_k = -1;
    CHECK_THROWS_WITH(attn::Sampler(params), Contains("top_k"));
}
