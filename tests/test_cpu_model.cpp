// The whole CPU forward pass against transformers (fp32, eager attention) on the tiny test models, with
// every attention backend: logits of the last prompt positions within 1e-4 relative L2 error, and the
// 32-token greedy continuation identical.
#include <catch2/catch.hpp>

#include "src/runtime/cpu_model.h"
#include "tests/golden_model.h"

using namespace attn;

namespace {

constexpr double kLogitTolerance = 1e-4;  // fp32 both sides; only the order of summation differs

std::unique_ptr<CpuModel> make_model(const test::GoldenModel& golden, AttentionBackend backend) {
    const ModelConfig config = ModelConfig::load(golden.dir);
    const TensorStore store = TensorStore::open_dir(golden.dir);
    CpuModelOptions options;
    options.threads = 2;
    options.backend = backend;
    options.context_size = 128;
    return std::make_unique<CpuModel>(config, store, options);
}

void check_logits(const test::GoldenModel& golden, const std::vector<float>& all_logits, int vocab) {
    for (double error : test::golden_logit_errors(golden, all_logits, vocab)) CHECK(error < kLogitTolerance);
}

}  // namespace

TEST_CASE("CPU model matches transformers logits and greedy tokens", "[model][cpu]") {
    const auto names = test::golden_model_names();
    REQUIRE(names.size() >= 4);
    for (const auto& name : names) {
        const auto golden = test::load_golden_model(name);
        for (auto backend : {AttentionBackend::Naive, AttentionBackend::Sdp, AttentionBackend::Flash,
                             AttentionBackend::Xformers}) {
            INFO(name << " with " << attention_backend_name(backend));
            auto model = make_model(golden, backend);
            const int vocab = model->config().vocab_size;
            std::vector<float> logits;
            model->forward(golden.prompt_ids, true, logits);
            check_logits(golden, logits, vocab);
            CHECK(test::greedy_continuation(*model, golden.prompt_ids, golden.greedy_ids.size()) == golden.greedy_ids);
        }
    }
}

TEST_CASE("Prefill in chunks gives the same logits as one pass", "[model][cpu]") {
    for (const auto& name : test::golden_model_names()) {
        const auto golden = test::load_golden_model(name);
        INFO(name);
        auto model = make_model(golden, AttentionBackend::Flash);
        const int vocab = model->config().vocab_size;
        std::vector<float> all, chunk;
        for (size_t begin = 0; begin < golden.prompt_ids.size(); begin += 5) {
            const size_t end = std::min(golden.prompt_ids.size(), begin + 5);
            model->forward({golden.prompt_ids.begin() + begin, golden.prompt_ids.begin() + end}, true, chunk);
            all.insert(all.end(), chunk.begin(), chunk.end());
        }
        REQUIRE(all.size() == golden.prompt_ids.size() * size_t(vocab));
        check_logits(golden, all, vocab);
    }
}

TEST_CASE("A sequence longer than the context is refused", "[model][cpu]") {
    const auto golden = test::load_golden_model(test::golden_model_names().front());
    const ModelConfig config = ModelConfig::load(golden.dir);
    CpuModelOptions options;
    options.context_size = 4;
    CpuModel model(config, TensorStore::open_dir(golden.dir), options);
    std::vector<float> logits;
    CHECK_THROWS_WITH(model.forward({1, 2, 3, 4, 5}, false, logits), Catch::Contains("exceeds the context size 4"));
}
