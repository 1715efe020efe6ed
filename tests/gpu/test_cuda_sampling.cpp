// GPU argmax and sampler against the CPU ones: argmax ties, the greedy and degenerate-filter cases, the
// repetition penalty on cases where it decides the winner, every draw against the filtered distribution
// attn::Sampler draws from (with the same uniform number), the empirical distribution of many draws,
// reproducibility by seed, and replay from a captured CUDA graph.
#include <catch2/catch.hpp>

#include <algorithm>
#include <cmath>
#include <numeric>
#include <set>
#include <vector>

#include "kernels/cuda/sampling.h"
#include "src/runtime/sampler.h"
#include "tests/gpu/gpu_test_util.h"
#include "tests/random_data.h"

using namespace attn;
using namespace attn::test;

namespace {

SamplingParams greedy_params() {
    SamplingParams params;
    params.temperature = 0.0f;
    params.top_k = 0;
    params.top_p = 1.0f;
    params.min_p = 0.0f;
    params.repeat_penalty = 1.0f;
    return params;
}

SamplingParams filters(float temperature, int top_k, float top_p, float min_p, float repeat_penalty = 1.0f,
                       uint64_t seed = 7) {
    SamplingParams params;
    params.temperature = temperature;
    params.top_k = top_k;
    params.top_p = top_p;
    params.min_p = min_p;
    params.repeat_penalty = repeat_penalty;
    params.seed = seed;
    return params;
}

// Logits, penalty window, RNG counter, workspace and outputs of cuda::sample on one device.
class DeviceSampler {
public:
    DeviceSampler(const std::vector<float>& logits, const std::vector<int32_t>& recent = {})
        : vocab_(int(logits.size())),
          n_recent_(int(recent.size())),
          logits_(to_device(logits)),
          recent_(std::max<size_t>(recent.size(), 1), "test recent tokens"),
          step_(1, "test step"),
          workspace_(cuda::sampling_workspace_bytes(vocab_), "test sampling workspace") {
        if (!recent.empty())
            CUDA_CHECK(
                cudaMemcpy(recent_.data(), recent.data(), recent.size() * sizeof(int32_t), cudaMemcpyHostToDevice));
        set_step(0);
    }

    // Legacy-stream copies, waited for on the device's side as test::to_device does.
    void set_step(uint64_t step) {
        CUDA_CHECK(cudaMemcpy(step_.data(), &step, sizeof step, cudaMemcpyHostToDevice));
        CUDA_CHECK(cudaDeviceSynchronize());
    }
    uint64_t step() const {
        uint64_t step = 0;
        CUDA_CHECK(cudaDeviceSynchronize());
        CUDA_CHECK(cudaMemcpy(&step, step_.data(), sizeof step, cudaMemcpyDeviceToHost));
        return step;
    }

    void sample_into(const SamplingParams& params, int32_t* out_token, cudaStream_t stream) {
        cuda::sample(logits_.data(), vocab_, recent_.data(), n_recent_, params, step_.data(), workspace_.data(),
                     workspace_.bytes(), out_token, stream);
    }

    // `count` calls in a row, each writing its own output slot (poisoned first).
    std::vector<int32_t> sample_many(const SamplingParams& params, int count) {
        cuda::DeviceBuffer<int32_t> tokens(size_t(count), "test tokens");
        poison(tokens);
        for (int i = 0; i < count; ++i) sample_into(params, tokens.data() + i, nullptr);
        CUDA_CHECK(cudaDeviceSynchronize());
        return to_host(tokens);
    }

    int32_t sample_one(const SamplingParams& params) { return sample_many(params, 1)[0]; }

private:
    int vocab_, n_recent_;
    cuda::DeviceBuffer<float> logits_;
    cuda::DeviceBuffer<int32_t> recent_;
    cuda::DeviceBuffer<uint64_t> step_;
    cuda::DeviceBuffer<uint8_t> workspace_;
};

int32_t device_argmax(const std::vector<float>& logits, size_t offset = 0) {
    const auto logits_d = to_device(logits);
    cuda::DeviceBuffer<int32_t> token(1, "test token");
    poison(token);
    cuda::argmax(logits_d.data() + offset, int(logits.size() - offset), token.data(), nullptr);
    CUDA_CHECK(cudaDeviceSynchronize());
    return to_host(token)[0];
}

int32_t cpu_sample(std::vector<float> logits, const std::vector<int32_t>& history, const SamplingParams& params) {
    Sampler sampler(params);
    return sampler.sample(logits, history);
}

// The distribution attn::Sampler draws from, as (id, probability) in descending logit order (lower id first
// on ties), which is also the order in which the GPU sampler lays out its cumulative sum. `recent` is the
// penalty window itself (the GPU sampler's input), not the whole history.
struct Outcome {
    int32_t id;
    double probability;
};

std::vector<Outcome> filtered_distribution(std::vector<float> logits, const std::vector<int32_t>& recent,
                                           const SamplingParams& params) {
    std::set<int32_t> penalised(recent.begin(), recent.end());
    for (const int32_t id : penalised) {
        if (id < 0 || size_t(id) >= logits.size()) continue;
        float& logit = logits[size_t(id)];
        logit = logit > 0.0f ? logit / params.repeat_penalty : logit * params.repeat_penalty;
    }
    for (float& logit : logits) logit /= params.temperature;
    std::vector<int32_t> order(logits.size());
    std::iota(order.begin(), order.end(), 0);
    std::stable_sort(order.begin(), order.end(),
                     [&](int32_t a, int32_t b) { return logits[size_t(a)] > logits[size_t(b)]; });
    if (params.top_k > 0 && size_t(params.top_k) < order.size()) order.resize(size_t(params.top_k));

    const double max_logit = logits[size_t(order[0])];
    std::vector<Outcome> outcomes;
    double total = 0.0;
    for (const int32_t id : order)
        total += outcomes.emplace_back(Outcome{id, std::exp(logits[size_t(id)] - max_logit)}).probability;
    if (params.top_p < 1.0f) {
        double cumulative = 0.0;
        size_t kept = 0;
        while (kept < outcomes.size()) {
            cumulative += outcomes[kept++].probability;
            if (cumulative >= double(params.top_p) * total) break;
        }
        outcomes.resize(kept);
    }
    // Weight relative to the best token is p / p_max; the best weighs 1.
    outcomes.erase(std::remove_if(outcomes.begin(), outcomes.end(),
                                  [&](const Outcome& o) { return o.probability < double(params.min_p); }),
                   outcomes.end());
    total = 0.0;
    for (const Outcome& o : outcomes) total += o.probability;
    for (Outcome& o : outcomes) o.probability /= total;
    return outcomes;
}

std::vector<double> as_vector(const std::vector<Outcome>& outcomes, size_t vocab) {
    std::vector<double> probabilities(vocab, 0.0);
    for (const Outcome& o : outcomes) probabilities[size_t(o.id)] = o.probability;
    return probabilities;
}

std::vector<double> frequencies(const std::vector<int32_t>& ids, size_t vocab) {
    std::vector<double> counts(vocab, 0.0);
    for (const int32_t id : ids) {
        REQUIRE(id >= 0);
        REQUIRE(size_t(id) < vocab);
        counts[size_t(id)] += 1.0;
    }
    for (double& count : counts) count /= double(ids.size());
    return counts;
}

double max_abs_difference(const std::vector<double>& a, const std::vector<double>& b) {
    double worst = 0.0;
    for (size_t i = 0; i < a.size(); ++i) worst = std::max(worst, std::abs(a[i] - b[i]));
    return worst;
}

// Draw `step` must land where its uniform number points in the cumulative distribution, up to the
// fp32 rounding of the GPU's sums (`slack`, in probability): the token's interval [before, after) of the
// filtered distribution must contain u.
void check_draws_follow_uniforms(const std::vector<int32_t>& tokens, const std::vector<Outcome>& outcomes,
                                 uint64_t seed, double slack) {
    for (size_t step = 0; step < tokens.size(); ++step) {
        const double u = cuda::sampling_uniform(seed, step);
        double before = 0.0;
        auto it = outcomes.begin();
        for (; it != outcomes.end() && it->id != tokens[step]; ++it) before += it->probability;
        INFO("step " << step << ", token " << tokens[step] << ", u " << u);
        REQUIRE(it != outcomes.end());  // a token the filters removed
        CHECK(u >= before - slack);
        CHECK(u < before + it->probability + slack);
    }
}

}  // namespace

TEST_CASE("cuda::argmax matches attn::argmax", "[gpu][sampling]") {
    uint64_t seed = 500;
    for (const int vocab : {1, 2, 3, 5, 1000, 1023, 1024, 1025, 4097, 32000, 151936}) {
        INFO("vocab " << vocab);
        const std::vector<float> logits = random_floats(size_t(vocab), ++seed, 3.0f);
        CHECK(device_argmax(logits) == argmax(logits.data(), logits.size()));
        if (vocab > 1) {  // from a pointer that is not 16-byte aligned: the scalar path
            CHECK(device_argmax(logits, 1) == argmax(logits.data() + 1, logits.size() - 1));
        }
    }
}

TEST_CASE("cuda::argmax returns the lowest index among equal maxima", "[gpu][sampling]") {
    for (const int vocab : {7, 1025, 151936}) {
        INFO("vocab " << vocab);
        std::vector<float> logits = random_floats(size_t(vocab), 600 + uint64_t(vocab));
        // Tied maxima in different threads, in the float4 part and the scalar tail.
        for (const int at : {vocab - 1, vocab / 2 + 1, 3}) logits[size_t(at)] = 50.0f;
        CHECK(device_argmax(logits) == 3);
        CHECK(device_argmax(std::vector<float>(size_t(vocab), 0.25f)) == 0);
        CHECK(device_argmax(std::vector<float>(size_t(vocab), -INFINITY)) == 0);
    }
}

TEST_CASE("cuda::sample at temperature 0 is argmax of the penalised logits", "[gpu][sampling]") {
    uint64_t seed = 700;
    for (const int vocab : {1, 3, 1000, 151936}) {
        INFO("vocab " << vocab);
        const std::vector<float> logits = random_floats(size_t(vocab), ++seed, 2.0f);
        DeviceSampler plain(logits);
        CHECK(plain.sample_one(greedy_params()) == argmax(logits.data(), logits.size()));
        CHECK(plain.step() == 0);  // greedy draws nothing

        // With a penalty the winner is attn::Sampler's greedy choice over the penalised logits.
        const int32_t best = argmax(logits.data(), logits.size());
        const std::vector<int32_t> recent = {best, int32_t(vocab / 2), best, -1};
        SamplingParams penalised = greedy_params();
        penalised.repeat_penalty = 3.0f;
        DeviceSampler with_history(logits, recent);
        CHECK(with_history.sample_one(penalised) == cpu_sample(logits, {best, int32_t(vocab / 2), best}, penalised));
    }
}

TEST_CASE("cuda::sample with top_k = 1 or a tiny top_p is argmax", "[gpu][sampling]") {
    uint64_t seed = 800;
    for (const int vocab : {2, 1000, 4099, 151936}) {
        INFO("vocab " << vocab);
        std::vector<float> logits = random_floats(size_t(vocab), ++seed, 2.0f);
        const int32_t best = argmax(logits.data(), logits.size());
        DeviceSampler sampler(logits);
        const std::vector<int32_t> top_k_one = sampler.sample_many(filters(1.0f, 1, 1.0f, 0.0f), 16);
        CHECK(top_k_one == std::vector<int32_t>(16, best));
        for (const float top_p : {0.0f, 1e-6f}) {
            INFO("top_p " << top_p);
            CHECK(sampler.sample_many(filters(1.5f, 0, top_p, 0.0f), 16) == std::vector<int32_t>(16, best));
        }
        CHECK(sampler.step() == 3 * 16);  // every non-greedy call draws once

        // Tied maxima: the sort is stable, so the lowest id comes first.
        for (const int at : {vocab - 1, vocab / 2, 1}) logits[size_t(at)] = 20.0f;
        DeviceSampler tied(logits);
        CHECK(tied.sample_one(filters(1.0f, 1, 1.0f, 0.0f)) == 1);
    }
}

TEST_CASE("cuda::sample's repetition penalty follows the HF rule once per distinct token", "[gpu][sampling]") {
    const int vocab = 300;
    std::vector<float> logits = random_floats(size_t(vocab), 900, 0.2f);  // all well below the two below
    const SamplingParams greedy = [] {
        SamplingParams p = greedy_params();
        p.repeat_penalty = 1.5f;
        return p;
    }();
    const SamplingParams top_one = filters(1.0f, 1, 1.0f, 0.0f, 1.5f);

    SECTION("a positive logit is divided: 3.0 / 1.5 = 2.0 falls below 2.5") {
        logits[5] = 3.0f;
        logits[9] = 2.5f;
        for (const SamplingParams& params : {greedy, top_one}) {
            CHECK(DeviceSampler(logits).sample_one(params) == 5);
            CHECK(DeviceSampler(logits, {7, 5, 400, -1}).sample_one(params) == 9);  // 400, -1: skipped slots
        }
    }
    SECTION("a negative logit is multiplied: -1.0 * 1.5 = -1.5 falls below -1.2") {
        for (float& logit : logits) logit -= 10.0f;
        logits[5] = -1.0f;
        logits[9] = -1.2f;
        for (const SamplingParams& params : {greedy, top_one}) {
            CHECK(DeviceSampler(logits).sample_one(params) == 5);
            CHECK(DeviceSampler(logits, {5}).sample_one(params) == 9);
        }
    }
    SECTION("a token repeated in the window is penalised once: 3.0 / 1.5 = 2.0 still beats 1.8") {
        logits[5] = 3.0f;
        logits[9] = 1.8f;
        const std::vector<int32_t> repeated(64, 5);
        for (const SamplingParams& params : {greedy, top_one}) {
            CHECK(DeviceSampler(logits, repeated).sample_one(params) == 5);
            CHECK(cpu_sample(logits, repeated, params) == 5);
        }
    }
}

TEST_CASE("cuda::sample never picks a masked token and returns the token of an infinite logit", "[gpu][sampling]") {
    const int vocab = 2000;
    std::vector<float> logits = random_floats(size_t(vocab), 1000);
    for (int i = 0; i < vocab; i += 2) logits[size_t(i)] = -INFINITY;
    DeviceSampler masked(logits);
    for (const int32_t id : masked.sample_many(filters(2.0f, 0, 1.0f, 0.0f), 500)) {
        INFO("id " << id);
        REQUIRE(id % 2 == 1);
    }

    logits[1234] = INFINITY;
    logits[1500] = INFINITY;
    DeviceSampler infinite(logits);
    CHECK(infinite.sample_one(filters(1.0f, 0, 1.0f, 0.0f)) == 1234);
}

TEST_CASE("cuda::sample draws each token where its uniform number falls in the filtered distribution",
          "[gpu][sampling]") {
    struct Case {
        const char* name;
        int vocab;
        SamplingParams params;
        std::vector<int32_t> recent;
    };
    const std::vector<Case> cases = {
        {"temperature only", 50, filters(0.8f, 0, 1.0f, 0.0f), {}},
        {"top-k", 50, filters(1.0f, 5, 1.0f, 0.0f), {}},
        {"top-p", 50, filters(1.2f, 0, 0.7f, 0.0f), {}},
        {"min-p", 50, filters(1.0f, 0, 1.0f, 0.1f), {}},
        {"all filters and the penalty", 50, filters(0.9f, 20, 0.9f, 0.02f, 1.3f), {3, 17, 3, 40, -1}},
        {"whole vocabulary, no filter", 151936, filters(1.0f, 0, 1.0f, 0.0f), {}},
        {"whole vocabulary, every filter", 151936, filters(0.7f, 50, 0.9f, 0.02f, 1.2f), {10, 99999, 151935}},
    };
    uint64_t seed = 1100;
    for (const Case& c : cases) {
        INFO(c.name);
        const std::vector<float> logits = random_floats(size_t(c.vocab), ++seed, 2.0f);
        DeviceSampler sampler(logits, c.recent);
        const std::vector<int32_t> tokens = sampler.sample_many(c.params, c.vocab > 1000 ? 300 : 2000);
        // Slack: the GPU sums up to 150k fp32 weights; 5e-5 is far above their rounding and far below the
        // probability of any token these small cases can pick.
        check_draws_follow_uniforms(tokens, filtered_distribution(logits, c.recent, c.params), c.params.seed, 5e-5);
    }
}

TEST_CASE("cuda::sample's frequencies match attn::Sampler's distribution", "[gpu][sampling]") {
    const int vocab = 40, draws = 20000;
    const std::vector<float> logits = random_floats(size_t(vocab), 1200, 1.5f);
    const std::vector<int32_t> recent = {1, 2, 3, 2};
    for (const SamplingParams& params :
         {filters(1.0f, 0, 1.0f, 0.0f), filters(0.7f, 8, 1.0f, 0.0f), filters(1.3f, 0, 0.8f, 0.0f),
          filters(1.0f, 0, 1.0f, 0.15f), filters(1.1f, 12, 0.9f, 0.05f, 1.4f)}) {
        INFO("temperature " << params.temperature << ", top_k " << params.top_k << ", top_p " << params.top_p
                            << ", min_p " << params.min_p << ", penalty " << params.repeat_penalty);
        const std::vector<double> expected = as_vector(filtered_distribution(logits, recent, params), size_t(vocab));

        // The oracle is attn::Sampler's distribution: its own draws agree within sampling noise
        // (standard deviation <= 0.0036 for 20000 draws, so 0.02 is over five of them).
        Sampler cpu(params);
        std::vector<int32_t> cpu_ids;
        for (int i = 0; i < draws; ++i) {
            std::vector<float> scratch = logits;
            cpu_ids.push_back(cpu.sample(scratch, recent));
        }
        REQUIRE(max_abs_difference(frequencies(cpu_ids, size_t(vocab)), expected) < 0.02);

        DeviceSampler gpu(logits, recent);
        const std::vector<double> observed = frequencies(gpu.sample_many(params, draws), size_t(vocab));
        CHECK(max_abs_difference(observed, expected) < 0.02);
        for (int id = 0; id < vocab; ++id) {
            INFO("id " << id);
            if (expected[size_t(id)] == 0.0) CHECK(observed[size_t(id)] == 0.0);  // filtered out: never drawn
        }
    }
}

TEST_CASE("cuda::sample gives the same tokens for the same seed and counter", "[gpu][sampling]") {
    const std::vector<float> logits = random_floats(5000, 1300, 1.0f);
    const SamplingParams params = filters(1.0f, 100, 0.95f, 0.0f, 1.1f, 42);
    DeviceSampler sampler(logits, {1, 2, 3});
    const std::vector<int32_t> first = sampler.sample_many(params, 200);
    CHECK(sampler.step() == 200);
    sampler.set_step(0);
    CHECK(sampler.sample_many(params, 200) == first);
    sampler.set_step(100);  // the counter alone decides the draw: resuming mid-way repeats the tail
    const std::vector<int32_t> tail = sampler.sample_many(params, 100);
    CHECK(tail == std::vector<int32_t>(first.begin() + 100, first.end()));
    sampler.set_step(0);
    SamplingParams other_seed = params;
    other_seed.seed = 43;
    CHECK(sampler.sample_many(other_seed, 200) != first);
}

TEST_CASE("cuda::sample replays from a captured CUDA graph", "[gpu][sampling]") {
    const std::vector<float> logits = random_floats(32000, 1400, 2.0f);
    const std::vector<int32_t> recent = {5, 6, 7, -1, -1};
    for (const SamplingParams& params : {filters(0.8f, 40, 0.95f, 0.05f, 1.2f, 9), [] {
                                             SamplingParams p = greedy_params();
                                             p.repeat_penalty = 1.2f;
                                             return p;
                                         }()}) {
        INFO("temperature " << params.temperature);
        const int steps = 32;
        DeviceSampler direct(logits, recent);
        const std::vector<int32_t> expected = direct.sample_many(params, steps);

        DeviceSampler captured(logits, recent);
        cuda::DeviceBuffer<int32_t> token(1, "test token");
        cudaStream_t stream;
        CUDA_CHECK(cudaStreamCreateWithFlags(&stream, cudaStreamNonBlocking));
        cudaGraph_t graph;
        CUDA_CHECK(cudaStreamBeginCapture(stream, cudaStreamCaptureModeGlobal));
        captured.sample_into(params, token.data(), stream);
        CUDA_CHECK(cudaStreamEndCapture(stream, &graph));
        cudaGraphExec_t exec;
        CUDA_CHECK(cudaGraphInstantiate(&exec, graph, 0));
        std::vector<int32_t> replayed;
        for (int i = 0; i < steps; ++i) {
            CUDA_CHECK(cudaMemsetAsync(token.data(), 0xff, token.bytes(), stream));  // poison, in stream order
            CUDA_CHECK(cudaGraphLaunch(exec, stream));
            CUDA_CHECK(cudaStreamSynchronize(stream));
            replayed.push_back(to_host(token)[0]);
        }
        CUDA_CHECK(cudaGraphExecDestroy(exec));
        CUDA_CHECK(cudaGraphDestroy(graph));
        CUDA_CHECK(cudaStreamDestroy(stream));
        CHECK(replayed == expected);
    }
}
