// The flash and xformers backends against the CPU reference (tests/gpu/attention_reference.h), each in every
// kernel variant a GPU of its generation would run: the native path, and forced through
// ATTN_INFER_FORCE_KERNEL_PATH the Turing path (m16n8k8, no cp.async) and the SIMT path of Pascal/Volta.
// Sweeps head sizes, MHA/GQA/MQA, causal or not, sliding windows, varlen batches whose lengths are not tile
// multiples, prefill and split-K decode; outputs and workspaces are poisoned with NaN before every run.
#include <catch2/catch.hpp>

#include <cstdlib>
#include <functional>
#include <string>
#include <vector>

#include "kernels/cuda/flash/attention_flash.h"
#include "kernels/cuda/xformers/attention_xformers.h"
#include "tests/gpu/attention_reference.h"
#include "tests/gpu/gpu_test_util.h"

using namespace attn;
using test::AttentionBatch;
using test::AttentionCase;
using test::ForcedKernelPath;
using test::make_case;
using test::SequenceLengths;

namespace {

// Same bound as the other backends (tests/gpu/test_cuda_attention.cpp): fp16 output rounding is ~3e-4,
// fp16 probabilities on the tensor-core paths add about as much; a wrong mask or stride costs far more.
constexpr double kMaxRelativeError = 1e-3;

struct TiledBackend {
    const char* name;
    size_t (*workspace_bytes)(const cuda::AttentionParams&);
    void (*run)(const cuda::AttentionParams&, const __half*, const cuda::KvCacheView&, __half*, const cuda::Workspace&,
                cudaStream_t);
};

const TiledBackend kBackends[] = {
    {"flash", cuda::attention_flash_workspace_bytes, cuda::attention_flash<__half>},
    {"xformers", cuda::attention_xformers_workspace_bytes, cuda::attention_xformers<__half>},
};

// "" is the GPU's own path; the others are what ATTN_INFER_FORCE_KERNEL_PATH accepts.
const char* const kVariants[] = {"", "sm75", "simt"};

double run_backend(const TiledBackend& backend, const AttentionBatch<>& batch) {
    auto out = test::make_poisoned_output(batch);
    const auto workspace = test::make_poisoned_workspace(backend.workspace_bytes(batch.params));
    backend.run(batch.params, batch.q.data(), batch.kv, out.data(), {workspace.data(), workspace.bytes()}, nullptr);
    CUDA_CHECK(cudaDeviceSynchronize());
    return test::relative_error_to_reference(batch, out);
}

void check_all_variants(const AttentionCase& c, uint64_t seed) {
    const AttentionBatch<> batch = test::make_attention_batch(c, seed);
    for (const char* variant : kVariants) {
        ForcedKernelPath forced(variant);
        for (const TiledBackend& backend : kBackends) {
            INFO(backend.name << " (" << (*variant ? variant : "native") << "): " << test::describe(c));
            CHECK(run_backend(backend, batch) < kMaxRelativeError);
        }
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

const std::pair<int, int> kHeadLayouts[] = {{8, 8}, {8, 2}, {8, 1}};
const int kHeadDims[] = {64, 80, 96, 128, 256};
const int kWindows[] = {0, 1, 17, 64, 200};

}  // namespace

TEST_CASE("flash and xformers prefill match the CPU reference", "[gpu][flash]") {
    // Lengths off the tile sizes (128/64/32 rows, 64/32/16 keys); chunked prefill (q_len < kv_len); several
    // sequences of different lengths in one batch.
    const std::vector<std::vector<SequenceLengths>> batches = {
        {{37, 37}}, {{100, 100}, {3, 250}, {1, 77}}, {{65, 130}, {17, 17}}};
    uint64_t seed = 20000;
    for (int head_dim : kHeadDims)
        for (auto heads : kHeadLayouts)
            for (bool causal : {true, false})
                for (int window : kWindows)
                    for (const auto& sequences : batches)
                        check_all_variants(make_case(head_dim, heads, causal, window, sequences), seed += 3);
}

TEST_CASE("flash and xformers prefill over several query blocks", "[gpu][flash]") {
    uint64_t seed = 30000;
    // Every sm80 tile config (2 or 3 cp.async stages, 64 or 32 keys) over more tiles than stages.
    for (int head_dim : kHeadDims)
        for (bool causal : {true, false})
            for (int window : {0, 200})
                check_all_variants(make_case(head_dim, {8, 2}, causal, window, {{300, 300}, {130, 517}}), seed += 3);
}

TEST_CASE("flash and xformers prefill whose scores keep rising tile after tile", "[gpu][flash]") {
    // A row rescales only when a tile's max passes its reference by more than 8 log2 units: keys growing by 5%
    // of their first size a position take it there on most tiles (every 64 keys the scores' standard
    // deviation grows by 3.2, 4.6 log2 units, and a tile's max by some 2.5 times that).
    uint64_t seed = 35000;
    for (int head_dim : {64, 128})
        for (int window : {0, 200}) {
            AttentionCase c = make_case(head_dim, {8, 2}, true, window, {{300, 300}, {130, 517}});
            c.key_growth = 0.05f;
            check_all_variants(c, seed += 3);
        }
}

TEST_CASE("flash and xformers decode (split-K) match the CPU reference", "[gpu][flash]") {
    const std::vector<std::vector<SequenceLengths>> batches = {{{1, 1}}, {{1, 1}, {1, 2}, {1, 129}, {1, 700}}};
    uint64_t seed = 40000;
    for (int head_dim : kHeadDims)
        for (auto heads : kHeadLayouts)
            for (bool causal : {true, false})
                for (int window : kWindows)
                    for (const auto& sequences : batches)
                        check_all_variants(make_case(head_dim, heads, causal, window, sequences), seed += 3);
}

// Long caches cost the reference generator most (the test cache is padded to the longest sequence), so
// they get a sweep of their own.
TEST_CASE("flash and xformers decode over long caches (many splits)", "[gpu][flash]") {
    uint64_t seed = 45000;
    for (int head_dim : {64, 128, 256})
        for (auto heads : kHeadLayouts)
            for (int window : {0, 200})
                check_all_variants(make_case(head_dim, heads, true, window, {{1, 5000}, {1, 4097}, {1, 1}}), seed += 3);
    SECTION("a GQA group larger than one CTA's 8 heads") {
        check_all_variants(make_case(128, {32, 2}, true, 0, {{1, 3000}, {1, 33}}), seed += 3);
    }
}

TEST_CASE("flash and xformers with empty sequences and decode rows inside a prefill batch", "[gpu][flash]") {
    uint64_t seed = 50000;
    for (bool causal : {true, false})
        check_all_variants(make_case(64, {8, 2}, causal, 0, {{3, 10}, {0, 5}, {2, 2}, {1, 700}}), seed += 3);
}

TEST_CASE("flash and xformers refuse shapes they are not built for and name a backend that can", "[gpu][flash]") {
    AttentionCase c = make_case(72, {4, 2}, true, 0, {{6, 6}});
    const AttentionBatch<> batch = test::make_attention_batch(c, 60000);
    auto out = test::make_poisoned_output(batch);
    for (const TiledBackend& backend : kBackends) {
        INFO(backend.name);
        CHECK_THAT(attn_error_message([&] { backend.run(batch.params, batch.q.data(), batch.kv, out.data(), {}, nullptr); }),
                   Catch::Contains("head_dim 72 is not built for " + std::string(backend.name)) &&
                       Catch::Contains("use --attn-backend sdp"));
    }
    SECTION("an unknown forced kernel path") {
        ForcedKernelPath forced("sm42");
        const AttentionBatch<> ok = test::make_attention_batch(make_case(64, {4, 2}, true, 0, {{6, 6}}), 60001);
        auto ok_out = test::make_poisoned_output(ok);
        CHECK_THAT(attn_error_message([&] { cuda::attention_flash(ok.params, ok.q.data(), ok.kv, ok_out.data(), {}, nullptr); }),
                   Catch::Contains("use sm80, sm75 or simt"));
    }
}
