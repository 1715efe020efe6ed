// The whole model on the GPU against transformers' fp32 goldens and the CPU runtime: logits within the
// error that fp16 weights and activations bring (relative L2 < 1e-2), and the 32 greedy tokens of
// transformers, for every attention backend, prefill in one pass and in chunks, eager and graph decode;
// then the same models in bf16 (sm_80+), whose coarser rounding loosens the bounds (see kBf16*).
#include <catch2/catch.hpp>

#include "src/cuda/cuda_model.h"
#include "tests/golden_model.h"
#include "tests/gpu/gpu_model_factory.h"
#include "tests/gpu/gpu_test_util.h"
#include "tests/random_data.h"

using namespace attn;

namespace {

constexpr double kFp16LogitTolerance = 1e-2;

}  // namespace

TEST_CASE("GPU model matches transformers logits and greedy tokens", "[gpu][model]") {
    for (const auto& name : test::golden_model_names()) {
        const auto golden = test::load_golden_model(name);
        const int head_dim = ModelConfig::load(golden.dir).head_dim;
        if (head_dim == 64 || head_dim == 128) CHECK(test::gpu_backends(head_dim).size() == 4);
        for (auto backend : test::gpu_backends(head_dim)) {
            for (bool graphs : {false, true}) {
                INFO(name << " with " << attention_backend_name(backend) << (graphs ? ", graphs" : ", eager"));
                auto model = test::make_gpu_model(golden, {backend, graphs});
                const int vocab = model->config().vocab_size;
                std::vector<float> logits;
                model->forward(golden.prompt_ids, true, logits);
                for (double error : test::golden_logit_errors(golden, logits, vocab)) CHECK(error < kFp16LogitTolerance);
                CHECK(test::greedy_continuation(*model, golden.prompt_ids, golden.greedy_ids.size()) == golden.greedy_ids);
            }
        }
    }
}

TEST_CASE("GPU prefill in chunks equals one pass", "[gpu][model]") {
    const auto golden = test::load_golden_model("tiny-qwen2-swa");
    auto whole = test::make_gpu_model(golden, {AttentionBackend::Naive, false});
    auto chunked = test::make_gpu_model(golden, {AttentionBackend::Naive, false});
    std::vector<float> expected, part, all;
    whole->forward(golden.prompt_ids, true, expected);
    for (size_t begin = 0; begin < golden.prompt_ids.size(); begin += 7) {
        const size_t end = std::min(golden.prompt_ids.size(), begin + 7);
        chunked->forward({golden.prompt_ids.begin() + begin, golden.prompt_ids.begin() + end}, true, part);
        all.insert(all.end(), part.begin(), part.end());
    }
    CHECK(test::relative_error(all, expected) < 1e-3);
}

TEST_CASE("GPU out-of-memory is a clear error", "[gpu][model]") {
    const auto golden = test::load_golden_model("tiny-llama");
    cuda::DeviceAllocator::instance().set_limit_bytes(cuda::DeviceAllocator::instance().used_bytes() + (1 << 20));
    cuda::CudaModelOptions options;
    options.context_size = 1 << 20;
    CHECK_THROWS_WITH(cuda::make_cuda_model(ModelConfig::load(golden.dir), TensorStore::open_dir(golden.dir), options),
                      Catch::Contains("out of GPU memory") && Catch::Contains("--ctx-size"));
    cuda::DeviceAllocator::instance().set_limit_bytes(0);
}

namespace {

// bf16 keeps 8 significant bits to fp16's 11: every rounded activation moves 8x as far, so logits drift
// further from transformers' fp32 (measured worst case on the tiny models: see docs/STATUS.md) and a
// greedy step whose top two logits are closer than that drift may flip. The bounds below hold with margin;
// a wrong kernel or a mis-typed GEMM is off by far more (relative errors near 1, tokens from the first).
constexpr double kBf16LogitTolerance = 3e-2;
constexpr size_t kBf16GreedyPrefix = 8;

size_t common_prefix(const std::vector<int32_t>& a, const std::vector<int32_t>& b) {
    size_t n = 0;
    while (n < a.size() && n < b.size() && a[n] == b[n]) ++n;
    return n;
}

}  // namespace

TEST_CASE("GPU model in bf16 stays near transformers' logits and greedy tokens", "[gpu][model][bf16]") {
    if (!test::device_runs_bf16()) {
        WARN("skipped: bf16 needs an sm_80+ GPU on the sm80 kernel path");
        return;
    }
    for (const auto& name : test::golden_model_names()) {
        const auto golden = test::load_golden_model(name);
        const int head_dim = ModelConfig::load(golden.dir).head_dim;
        for (auto backend : test::gpu_backends(head_dim)) {
            INFO(name << " in bf16 with " << attention_backend_name(backend));
            auto model = test::make_gpu_model(golden, {backend, true, cuda::GpuDtype::BF16});
            CHECK_THAT(model->description(), Catch::Contains("bf16 weights"));
            std::vector<float> logits;
            model->forward(golden.prompt_ids, true, logits);
            double worst = 0;
            for (double error : test::golden_logit_errors(golden, logits, model->config().vocab_size))
                worst = std::max(worst, error);
            const auto greedy = test::greedy_continuation(*model, golden.prompt_ids, golden.greedy_ids.size());
            const size_t agree = common_prefix(greedy, golden.greedy_ids);
            UNSCOPED_INFO(name << " bf16 " << attention_backend_name(backend) << ": worst logit error " << worst
                               << ", greedy prefix " << agree << "/" << golden.greedy_ids.size());
            CHECK(worst < kBf16LogitTolerance);
            CHECK(agree >= kBf16GreedyPrefix);
        }
    }
}

TEST_CASE("auto dtype keeps a bf16 checkpoint in bf16 and runs the others in fp16", "[gpu][model][bf16]") {
    if (!test::device_runs_bf16()) {
        WARN("skipped: bf16 needs an sm_80+ GPU on the sm80 kernel path");
        return;
    }
    // tiny-mistral is stored as BF16, tiny-llama as F32 (tools/make_tiny_models.py).
    const test::GpuModelSettings automatic{AttentionBackend::Naive, true, cuda::GpuDtype::Auto};
    auto bf16 = test::make_gpu_model(test::load_golden_model("tiny-mistral"), automatic);
    auto fp16 = test::make_gpu_model(test::load_golden_model("tiny-llama"), automatic);
    CHECK_THAT(bf16->description(), Catch::Contains("bf16 weights"));
    CHECK_THAT(fp16->description(), Catch::Contains("fp16 weights"));
}
