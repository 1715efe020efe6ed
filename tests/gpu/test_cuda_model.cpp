// The whole model on the GPU against transformers' fp32 goldens and the CPU runtime: logits within the
// error that fp16 weights and activations bring (relative L2 < 1e-2), and the 32 greedy tokens of
// transformers, for every attention backend, prefill in one pass and in chunks, eager and graph decode.
#include <catch2/catch.hpp>

#include "src/cuda/cuda_model.h"
#include "src/cuda/gpu_backend_choice.h"
#include "tests/golden_model.h"
#include "tests/random_data.h"

using namespace attn;

namespace {

constexpr double kFp16LogitTolerance = 1e-2;

std::unique_ptr<cuda::CudaModel> make_gpu_model(const test::GoldenModel& golden, AttentionBackend backend, bool graphs) {
    cuda::CudaModelOptions options;
    options.backend = backend;
    options.context_size = 128;
    options.max_batch_tokens = 64;
    options.use_graphs = graphs;
    return std::make_unique<cuda::CudaModel>(ModelConfig::load(golden.dir), TensorStore::open_dir(golden.dir), options);
}

// Every backend built for this head size (tiny-llama-hd64 and tiny-mistral-hd128 bring flash and xformers in).
std::vector<AttentionBackend> gpu_backends(int head_dim) {
    std::vector<AttentionBackend> backends;
    for (auto b : {AttentionBackend::Naive, AttentionBackend::Sdp, AttentionBackend::Flash, AttentionBackend::Xformers}) {
        try {
            cuda::choose_gpu_backends(b, 90, head_dim);
            backends.push_back(b);
        } catch (const Error&) {
        }
    }
    return backends;
}

}  // namespace

TEST_CASE("GPU model matches transformers logits and greedy tokens", "[gpu][model]") {
    for (const auto& name : test::golden_model_names()) {
        const auto golden = test::load_golden_model(name);
        const int head_dim = ModelConfig::load(golden.dir).head_dim;
        if (head_dim == 64 || head_dim == 128) CHECK(gpu_backends(head_dim).size() == 4);
        for (auto backend : gpu_backends(head_dim)) {
            for (bool graphs : {false, true}) {
                INFO(name << " with " << attention_backend_name(backend) << (graphs ? ", graphs" : ", eager"));
                auto model = make_gpu_model(golden, backend, graphs);
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
    auto whole = make_gpu_model(golden, AttentionBackend::Naive, false);
    auto chunked = make_gpu_model(golden, AttentionBackend::Naive, false);
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
    CHECK_THROWS_WITH(cuda::CudaModel(ModelConfig::load(golden.dir), TensorStore::open_dir(golden.dir), options),
                      Catch::Contains("out of GPU memory") && Catch::Contains("--ctx-size"));
    cuda::DeviceAllocator::instance().set_limit_bytes(0);
}
