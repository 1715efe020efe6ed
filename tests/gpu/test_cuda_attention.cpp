// The GPU attention backends against the CPU reference (cpu::attention_naive on the same fp16 inputs), on
// fresh random varlen batches: head sizes, MHA/GQA/MQA, causal or not, sliding windows, prefill, decode and
// both in one batch, a roomy NaN-padded KV cache, outputs and workspaces poisoned before every run.
// Flash and xformers have their own file (every kernel variant); here they join the bf16 sweep.
#include <catch2/catch.hpp>

#include <cstdint>
#include <functional>
#include <string>
#include <vector>

#include <cublas_v2.h>

#include "kernels/cuda/attention_dispatch.h"
#include "kernels/cuda/attention_naive.h"
#include "kernels/cuda/attention_sdp.h"
#include "tests/gpu/attention_reference.h"
#include "tests/gpu/gpu_test_util.h"

using namespace attn;
using test::AttentionBatch;
using test::AttentionCase;
using test::CublasHandle;
using test::SequenceLengths;
using test::Stream;
using test::make_poisoned_workspace;

namespace {

// The fp16 output alone is ~3e-4 off the reference (relative rounding 2^-11 / sqrt(3)); sdp's fp16
// probabilities add about as much again. A wrong mask, stride or head mapping costs far more than 1e-3.
constexpr double kMaxRelativeError = 1e-3;

const AttentionBackend kBackends[] = {AttentionBackend::Naive, AttentionBackend::Sdp};

template <typename T>
double run_backend(AttentionBackend backend, const AttentionBatch<T>& batch, cublasHandle_t cublas, cudaStream_t stream) {
    auto out = test::make_poisoned_output(batch);
    const auto workspace = make_poisoned_workspace(cuda::attention_workspace_bytes(backend, batch.params));
    cuda::run_attention(backend, batch.params, batch.q.data(), batch.kv, out.data(),
                        {workspace.data(), workspace.bytes()}, cublas, stream);
    CUDA_CHECK(cudaStreamSynchronize(stream));
    return test::relative_error_to_reference(batch, out);
}

void check_all_backends(const AttentionCase& c, uint64_t seed, cublasHandle_t cublas, cudaStream_t stream) {
    const AttentionBatch<> batch = test::make_attention_batch(c, seed);
    for (AttentionBackend backend : kBackends) {
        INFO(attention_backend_name(backend) << ": " << test::describe(c));
        CHECK(run_backend(backend, batch, cublas, stream) < kMaxRelativeError);
    }
}

std::string attn_error_message(const std::function<void()>& action) {
    try {
        action();
    } catch (const Error& error) {
        return error.what();
    }
    return "(no attn::Error thrown)";
}

}  // namespace

TEST_CASE("GPU attention backends match the CPU reference", "[gpu][attention]") {
    CublasHandle cublas;
    Stream stream;
    const std::vector<std::vector<SequenceLengths>> batches = {
        {{1, 1}}, {{1, 300}}, {{37, 37}}, {{100, 100}, {3, 250}, {1, 77}}};
    uint64_t seed = 1000;
    for (int head_dim : {64, 80, 96, 128, 256})
        for (auto heads : {std::pair{8, 8}, std::pair{8, 2}, std::pair{8, 1}})
            for (bool causal : {true, false})
                for (int window : {0, 1, 17, 64})
                    for (const auto& sequences : batches)
                        check_all_backends(test::make_case(head_dim, heads, causal, window, sequences), seed += 3,
                                           cublas, stream);
}

// bf16 (sm_80+): every backend on the same kind of grid, against the reference on bf16-rounded inputs.
TEST_CASE("GPU attention backends in bf16 match the CPU reference", "[gpu][attention][bf16]") {
    if (!test::device_runs_bf16()) {
        WARN("skipped: bf16 needs an sm_80+ GPU on the sm80 kernel path");
        return;
    }
    CublasHandle cublas;
    Stream stream;
    const std::vector<std::vector<SequenceLengths>> batches = {
        {{1, 1}, {1, 300}, {1, 2100}}, {{37, 37}}, {{100, 100}, {3, 250}, {1, 77}}, {{300, 300}, {130, 517}}};
    uint64_t seed = 13000;
    for (int head_dim : {64, 80, 96, 128, 256})
        for (auto heads : {std::pair{8, 8}, std::pair{8, 2}, std::pair{8, 1}})
            for (bool causal : {true, false})
                for (int window : {0, 17, 200})
                    for (const auto& sequences : batches) {
                        const AttentionCase c = test::make_case(head_dim, heads, causal, window, sequences);
                        const AttentionBatch<__nv_bfloat16> batch =
                            test::make_attention_batch<__nv_bfloat16>(c, seed += 3);
                        for (AttentionBackend backend : {AttentionBackend::Naive, AttentionBackend::Sdp,
                                                         AttentionBackend::Flash, AttentionBackend::Xformers}) {
                            INFO(attention_backend_name(backend) << " bf16: " << test::describe(c));
                            CHECK(run_backend(backend, batch, cublas, stream) < test::kOutputTolerance<__nv_bfloat16>);
                        }
                    }
}

TEST_CASE("GPU attention with other even head sizes and a packed KV cache", "[gpu][attention]") {
    CublasHandle cublas;
    Stream stream;
    uint64_t seed = 5000;
    for (int head_dim : {16, 32, 40, 112, 160, 192, 200})
        for (int padding : {0, 6}) {
            AttentionCase c;
            c.n_heads = 6;
            c.n_kv_heads = 3;
            c.head_dim = head_dim;
            c.window = 7;
            c.sequences = {{5, 5}, {1, 33}, {20, 64}};
            c.token_padding = padding;
            c.spare_positions = padding;
            check_all_backends(c, seed += 3, cublas, stream);
        }
}

TEST_CASE("GPU attention over long caches and sequences without queries", "[gpu][attention]") {
    CublasHandle cublas;
    Stream stream;
    uint64_t seed = 7000;
    const std::vector<std::vector<SequenceLengths>> batches = {
        {{1, 1}, {1, 2}, {1, 129}, {1, 513}, {1, 4097}},  // decode: one query each, keys past several blocks
        {{2, 3000}, {1, 1}},                              // chunked prefill into a long cache
        {{3, 10}, {0, 5}, {2, 2}},                        // an empty sequence inside the batch
        {{0, 4}, {0, 0}, {4, 9}},                         // empty sequences first
    };
    for (const auto& sequences : batches)
        for (bool causal : {true, false})
            for (int window : {0, 100}) {
                AttentionCase c;
                c.n_heads = 8;
                c.n_kv_heads = 2;
                c.head_dim = 128;
                c.causal = causal;
                c.window = window;
                c.sequences = sequences;
                check_all_backends(c, seed += 3, cublas, stream);
            }
}

TEST_CASE("sdp chunks fit the workspace cap and still match the reference", "[gpu][attention][sdp]") {
    CublasHandle cublas;
    Stream stream;
    uint64_t seed = 9000;
    for (bool causal : {true, false})
        for (int window : {0, 9}) {
            AttentionCase c;
            c.n_heads = 8;
            c.n_kv_heads = 4;
            c.head_dim = 80;
            c.causal = causal;
            c.window = window;
            c.sequences = {{100, 100}, {3, 250}, {1, 77}, {40, 60}};
            const AttentionBatch<> batch = test::make_attention_batch(c, seed += 3);
            const cuda::AttentionParams& p = batch.params;
            // Caps exactly at a chunk's size: all kv heads, 3 of 4 (a short last chunk), one, then row splits.
            struct Expected {
                int kv_heads;
                int min_rows;
            };
            for (Expected expected : {Expected{4, p.max_q_len}, Expected{3, p.max_q_len}, Expected{1, p.max_q_len},
                                      Expected{1, 7}, Expected{1, 1}}) {
                const size_t cap = cuda::sdp_chunk_bytes(p, expected.kv_heads, expected.min_rows);
                const cuda::SdpChunkPlan plan = cuda::plan_sdp_chunks(p, cap);
                INFO(test::describe(c) << ", cap " << cap << ": " << cuda::describe_sdp_workspace(p, cap));
                CHECK(plan.kv_heads == expected.kv_heads);
                CHECK(plan.query_rows >= expected.min_rows);
                CHECK(plan.bytes <= cap);
                CHECK(cuda::attention_sdp_workspace_bytes(p, cap) == plan.bytes);
                if (plan.query_rows < p.max_q_len) CHECK(cuda::sdp_chunk_bytes(p, 1, plan.query_rows + 1) > cap);

                auto out = test::make_poisoned_output(batch);
                const auto workspace = make_poisoned_workspace(plan.bytes);
                cuda::attention_sdp(p, batch.q.data(), batch.kv, out.data(), {workspace.data(), workspace.bytes()},
                                    cublas, stream);
                CUDA_CHECK(cudaStreamSynchronize(stream));
                CHECK(test::relative_error_to_reference(batch, out) < kMaxRelativeError);
            }
        }
}

TEST_CASE("Impossible attention requests name a backend that can run them", "[gpu][attention]") {
    CublasHandle cublas;
    Stream stream;
    AttentionCase c;
    c.n_heads = 4;
    c.n_kv_heads = 2;
    c.head_dim = cuda::kNaiveMaxHeadDim + 32;
    c.sequences = {{6, 6}, {1, 20}};
    const AttentionBatch<> batch = test::make_attention_batch(c, 11000);
    auto out = test::make_poisoned_output(batch);
    const cuda::Workspace no_workspace;

    SECTION("naive: head_dim above its limit points to sdp, which runs it") {
        CHECK_THAT(attn_error_message([&] {
                       cuda::attention_naive(batch.params, batch.q.data(), batch.kv, out.data(), no_workspace, stream);
                   }),
                   Catch::Contains("use --attn-backend sdp"));
        CHECK(run_backend(AttentionBackend::Sdp, batch, cublas, stream) < kMaxRelativeError);
    }
    SECTION("sdp: a workspace smaller than one query row points to naive") {
        const size_t too_small = cuda::sdp_chunk_bytes(batch.params, 1, 1) - 1;
        CHECK_THAT(attn_error_message([&] { cuda::plan_sdp_chunks(batch.params, too_small); }),
                   Catch::Contains("use --attn-backend naive"));
        const auto workspace = make_poisoned_workspace(too_small);
        CHECK_THAT(attn_error_message([&] {
                       cuda::attention_sdp(batch.params, batch.q.data(), batch.kv, out.data(),
                                           {workspace.data(), workspace.bytes()}, cublas, stream);
                   }),
                   Catch::Contains("use --attn-backend naive"));
    }
    SECTION("sdp: without host copies of the lengths points to naive") {
        cuda::AttentionParams params = batch.params;
        params.h_q_offsets = nullptr;
        params.h_kv_lens = nullptr;
        const auto workspace = make_poisoned_workspace(cuda::attention_sdp_workspace_bytes(params, SIZE_MAX));
        CHECK_THAT(attn_error_message([&] {
                       cuda::attention_sdp(params, batch.q.data(), batch.kv, out.data(),
                                           {workspace.data(), workspace.bytes()}, cublas, stream);
                   }),
                   Catch::Contains("use --attn-backend naive"));
    }
}
