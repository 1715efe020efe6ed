// The GPU KV cache formats (fp16, q8, q4; contiguous and paged) against the CPU codecs of kernels/cpu/kv_quant.h:
//  - the write path (qkv_bias_norm_rope into a GpuKvCache, prefill chunks and decode steps that straddle
//    blocks and q4 key groups) decodes, with the CPU decoders, to the rows the CPU cache holds for the same
//    inputs: values identically (same arithmetic on the same floats), keys within one code step (the CPU
//    reference rotates the keys with its own sin/cos); q4 rows of the unfinished group are the CPU ring's
//    exact rows (values rotated, bit for bit); q8/q4 rows handed back over qkv (attention's fresh rows) are
//    the rows encoded;
//  - every attention backend and kernel path reads CPU-encoded blocks: against cpu::attention_naive on the
//    CPU-decoded rows, prefill (also with fresh rows) and split-K decode, with scattered block tables and
//    poisoned spare bytes;
//  - the whole tiny model with a q8 cache gives the fp16 greedy tokens; with q4, decode steps give the same
//    logits with and without the decode graph (its key groups are encoded inside the graph).
#include <catch2/catch.hpp>

#include <algorithm>
#include <cmath>
#include <cstdlib>
#include <string>
#include <vector>

#include <cublas_v2.h>

#include "kernels/cpu/rope.h"
#include "kernels/cuda/attention_dispatch.h"
#include "kernels/cuda/qkv_rope.h"
#include "src/cuda/cuda_model.h"
#include "src/cuda/gpu_kv_cache.h"
#include "tests/golden_model.h"
#include "tests/gpu/gpu_model_factory.h"
#include "tests/gpu/gpu_test_util.h"
#include "tests/gpu/kv_cache_batch.h"
#include "tests/random_data.h"

using namespace attn;
using test::AttentionCase;
using test::CublasHandle;
using test::ForcedKernelPath;
using test::KvBlockCase;
using test::SequenceLengths;

namespace {

const cpu::KvFormat kFormats[] = {cpu::KvFormat::F16, cpu::KvFormat::Q8, cpu::KvFormat::Q4};

KvCacheType cache_type(cpu::KvFormat format) {
    return format == cpu::KvFormat::Q8 ? KvCacheType::Q8 : format == cpu::KvFormat::Q4 ? KvCacheType::Q4 : KvCacheType::F16;
}

// ---- write path ----------------------------------------------------------------------------------------

struct WriteShape {
    int n_heads, n_kv_heads, head_dim;
};

bool pending_q4_row(const cpu::KvBlockLayout& layout, int length, int pos) {
    return layout.keys_by_channel() && pos >= cpu::kv_pending_first(length);
}

// Rows written by the GPU, decoded on the CPU: one layer's key (or value) row of a position. pending: the
// layer's pending keys then values (q4).
std::vector<float> gpu_row(const cuda::GpuKvCache& cache, const std::vector<uint8_t>& pool,
                           const std::vector<float>& pending, int length, bool is_value, int pos, int kv_head) {
    const cpu::KvBlockLayout& layout = cache.layout();
    if (pending_q4_row(layout, length, pos)) {
        const size_t ring = size_t(cpu::kQ4KeyGroup) * layout.n_kv_heads * layout.head_dim;
        const float* row = pending.data() + is_value * ring +
                           (size_t(pos % cpu::kQ4KeyGroup) * layout.n_kv_heads + kv_head) * layout.head_dim;
        return {row, row + layout.head_dim};
    }
    const int64_t row = cache.row_of(pos);
    std::vector<float> scratch(layout.head_dim);
    const float* values = cpu::load_kv_row(layout, pool.data() + row / layout.block_tokens * layout.block_bytes(),
                                           is_value, int(row % layout.block_tokens), kv_head, scratch.data());
    return {values, values + layout.head_dim};
}

// What the CPU cache holds for a row as the GPU keeps it: codes, or for q4's unfinished group the ring's
// exact row, a value rotated as the GPU stores it. (The CPU view serves the last 64 positions from its ring;
// the GPU only the unfinished group.) The row is left in scratch (head_dim floats).
void cpu_stored_row(const KvView& view, int length, bool is_value, int pos, int kv_head, float* scratch) {
    const KvBlockView& blocks = view.blocks;
    const int head_dim = blocks.layout.head_dim;
    if (pending_q4_row(blocks.layout, length, pos)) {
        std::copy_n(blocks.recent_row(is_value, pos, kv_head), head_dim, scratch);
        if (is_value) cpu::hadamard_rotate(scratch, head_dim);
        return;
    }
    const float* row = blocks.stored_row(is_value, pos, kv_head, scratch);
    if (row != scratch) std::copy_n(row, head_dim, scratch);
}

void check_write_path(cpu::KvFormat format, bool paged, WriteShape s, uint64_t seed) {
    INFO(cpu::kv_format_name(format) << (paged ? ", paged" : ", contiguous") << ", heads " << s.n_heads << "/"
                                     << s.n_kv_heads << ", head_dim " << s.head_dim);
    const int capacity = 128, q_dim = s.n_heads * s.head_dim, kv_dim = s.n_kv_heads * s.head_dim;
    const int width = q_dim + 2 * kv_dim;
    const KvCacheOptions options{cache_type(format), paged, format == cpu::KvFormat::Q4 ? cpu::kQ4KeyGroup : 32};
    cuda::GpuKvCache gpu_cache(options, 1, s.n_kv_heads, s.head_dim, capacity);
    const auto cpu_cache = make_cpu_kv_cache(options, 1, s.n_kv_heads, s.head_dim, capacity);

    RopeConfig rope;
    rope.theta = 10000.0;
    const cpu::RopeTable table = cpu::RopeTable::build(rope, s.head_dim);
    const auto inv_freq_d = test::to_device(table.inv_freq);
    const std::vector<float> bias = test::round_to<__half>(test::random_floats(size_t(width), seed, 0.5f));
    const auto bias_d = test::to_device(test::to_elements<__half>(bias));

    // Chunks that end inside, at and across q4 key groups (63, 127) and blocks of 32 (31, 95), to capacity.
    int pos = 0;
    for (const int n : {45, 1, 1, 17, 1, 30, 1, 1, 30, 1}) {
        INFO("positions " << pos << ".." << pos + n - 1);
        gpu_cache.cover(pos + n, nullptr);
        std::vector<int> positions(n);
        std::vector<int64_t> rows(n);
        for (int t = 0; t < n; ++t) positions[t] = pos + t, rows[t] = gpu_cache.row_of(pos + t);
        const std::vector<float> qkv = test::random_floats(size_t(n) * width, seed + pos + 1);
        auto qkv_d = test::to_device(qkv);
        const auto positions_d = test::to_device(positions);
        const auto rows_d = test::to_device(rows);
        cuda::DeviceBuffer<__half> q_d(size_t(n) * q_dim, "test output");
        test::poison(q_d);

        cuda::QkvRopeParams<__half> params;
        params.n_tokens = n;
        params.n_heads = s.n_heads;
        params.n_kv_heads = s.n_kv_heads;
        params.head_dim = s.head_dim;
        params.bias = bias_d.data();
        params.inv_freq = inv_freq_d.data();
        params.attention_factor = table.attention_factor;
        params.positions = positions_d.data();
        params.cache_rows = rows_d.data();
        cuda::qkv_bias_norm_rope(params, qkv_d.data(), q_d.data(), gpu_cache.write_target(0), nullptr);
        CUDA_CHECK(cudaDeviceSynchronize());

        // The CPU cache gets the same rows: values are qkv + bias; keys are the GPU's own rotated keys where the
        // kernel hands them back (q4 writes them over qkv), else the CPU's rotation of qkv + bias.
        std::vector<float> k(size_t(n) * kv_dim), v(size_t(n) * kv_dim);
        const std::vector<float> qkv_after = test::to_host(qkv_d);
        for (int t = 0; t < n; ++t)
            for (int e = 0; e < kv_dim; ++e) {
                const size_t k_col = size_t(q_dim + e), v_col = size_t(q_dim + kv_dim + e);
                k[size_t(t) * kv_dim + e] = qkv[size_t(t) * width + k_col] + bias[k_col];
                v[size_t(t) * kv_dim + e] = qkv[size_t(t) * width + v_col] + bias[v_col];
            }
        std::vector<float> k_roped = k;
        cpu::apply_rope(table, k_roped.data(), n, s.n_kv_heads, s.head_dim, positions.data());
        if (format != cpu::KvFormat::F16) {
            // q8/q4 hand the rows back over qkv as they encoded them, for attention's fresh rows: keys as the
            // CPU rotates them (up to sin/cos rounding), values exact (q4: rotated, bit for bit).
            double worst_key = 0;
            bool values_exact = true;
            for (int t = 0; t < n; ++t)
                for (int h = 0; h < s.n_kv_heads; ++h) {
                    const float* row = qkv_after.data() + size_t(t) * width + q_dim + h * s.head_dim;
                    const size_t at = size_t(t) * kv_dim + h * s.head_dim;
                    for (int d = 0; d < s.head_dim; ++d)
                        worst_key = std::max(worst_key, std::fabs(double(row[d]) - k_roped[at + d]) /
                                                            std::max(1.0, std::fabs(double(k_roped[at + d]))));
                    std::vector<float> value(v.begin() + at, v.begin() + at + s.head_dim);
                    if (format == cpu::KvFormat::Q4) cpu::hadamard_rotate(value.data(), s.head_dim);
                    values_exact &= std::equal(value.begin(), value.end(), row + kv_dim);
                }
            CHECK(worst_key < 2e-5);
            CHECK(values_exact);
        }
        if (format == cpu::KvFormat::Q4) {
            for (int t = 0; t < n; ++t)
                std::copy_n(qkv_after.data() + size_t(t) * width + q_dim, kv_dim, k.data() + size_t(t) * kv_dim);
        } else {
            k = k_roped;
        }
        cpu_cache->write(0, pos, n, k.data(), v.data());
        pos += n;

        const cuda::KvCacheWrite target = gpu_cache.write_target(0);
        const cpu::KvBlockLayout& layout = gpu_cache.layout();  // contiguous q4 is blocks of a key group too
        const size_t pool_bytes = size_t((capacity + layout.block_tokens - 1) / layout.block_tokens) * layout.block_bytes();
        std::vector<uint8_t> pool(pool_bytes);
        CUDA_CHECK(cudaMemcpy(pool.data(), target.blocks, pool_bytes, cudaMemcpyDeviceToHost));
        std::vector<float> pending;
        if (target.pending_keys) {
            const size_t ring = size_t(cpu::kQ4KeyGroup) * kv_dim;
            pending.resize(2 * ring);
            CUDA_CHECK(cudaMemcpy(pending.data(), target.pending_keys, ring * sizeof(float), cudaMemcpyDeviceToHost));
            CUDA_CHECK(cudaMemcpy(pending.data() + ring, target.pending_values, ring * sizeof(float),
                                  cudaMemcpyDeviceToHost));
        }

        const KvView expected = cpu_cache->view(0, pos);
        std::vector<float> cpu_v(s.head_dim), cpu_k(s.head_dim);
        for (int p = 0; p < pos; ++p)
            for (int h = 0; h < s.n_kv_heads; ++h) {
                INFO("position " << p << ", kv head " << h);
                const std::vector<float> gpu_v = gpu_row(gpu_cache, pool, pending, pos, true, p, h);
                cpu_stored_row(expected, pos, true, p, h, cpu_v.data());
                CHECK(gpu_v == cpu_v);
                const std::vector<float> gpu_k = gpu_row(gpu_cache, pool, pending, pos, false, p, h);
                cpu_stored_row(expected, pos, false, p, h, cpu_k.data());
                if (format == cpu::KvFormat::Q4) {
                    CHECK(gpu_k == cpu_k);
                    continue;
                }
                // One code step: fp16 rounds to 2^-11 relative, so the two differ by at most one fp16 step;
                // q8 steps by d = max|x|/127 of the group, and the group's fp16 scale may itself round one
                // step (2^-10) apart, which moves a code of up to 127 by 0.13 d: 1.25 d.
                const double allowed = format == cpu::KvFormat::Q8 ? 1.25 : 1.01;
                double worst = 0;
                for (int g = 0; g < s.head_dim; g += cpu::kKvGroup) {
                    float amax = 0;
                    for (int i = g; i < std::min(s.head_dim, g + cpu::kKvGroup); ++i) amax = std::max(amax, std::fabs(cpu_k[i]));
                    for (int i = g; i < std::min(s.head_dim, g + cpu::kKvGroup); ++i) {
                        const double step = format == cpu::KvFormat::Q8 ? amax / 127.0 : std::fabs(cpu_k[i]) / 1024.0;
                        worst = std::max(worst, std::fabs(double(gpu_k[i]) - cpu_k[i]) / (allowed * step + 1e-5));
                    }
                }
                CHECK(worst <= 1.0);
            }
    }
}

}  // namespace

TEST_CASE("GPU KV cache write path matches the CPU codecs", "[gpu][kvcache]") {
    const WriteShape shapes[] = {{4, 2, 64}, {2, 1, 128}, {3, 3, 96}, {2, 1, 256}};
    uint64_t seed = 9000;
    for (const cpu::KvFormat format : kFormats)
        for (const bool paged : {false, true})
            for (const WriteShape s : shapes) check_write_path(format, paged, s, seed += 100);
}

TEST_CASE("GPU KV cache: blocks, reuse and refused settings", "[gpu][kvcache]") {
    {
        cuda::GpuKvCache cache({KvCacheType::Q8, true, 16}, 2, 2, 64, 100);
        cache.cover(40, nullptr);
        std::vector<int64_t> rows;
        for (int pos = 0; pos < 40; ++pos) rows.push_back(cache.row_of(pos));
        CHECK(rows[17] == rows[16] + 1);                       // inside a block rows are consecutive
        CHECK(rows[15] / 16 != rows[16] / 16);                 // a new block at position 16
        cache.reset();
        cache.cover(40, nullptr);
        for (int pos = 0; pos < 40; ++pos) CHECK(cache.row_of(pos) == rows[size_t(pos)]);  // the same blocks again
        CHECK(cache.summary().find("paged (7 blocks of 16 tokens)") != std::string::npos);
    }
    CHECK_THROWS_AS(cuda::GpuKvCache({KvCacheType::F32, false, 16}, 1, 2, 64, 64), Error);
    CHECK_THROWS_AS(cuda::GpuKvCache({KvCacheType::Q4, true, 32}, 1, 2, 64, 64), Error);  // q4 groups: 64
    CHECK_THROWS_AS(cuda::GpuKvCache({KvCacheType::Q8, false, 16}, 1, 2, 80, 64), Error);
    // A contiguous q8 cache of 200k positions x 64 kv heads of 256 is one 7 GB block: refused before allocating.
    CHECK_THROWS_AS(cuda::GpuKvCache({KvCacheType::Q8, false, 16}, 1, 64, 256, 200000), Error);
}

// ---- read path: every backend, layout and format -------------------------------------------------------

namespace {

// fp16 output (3e-4), fp16 K/V staging of the decoded rows on the tiled paths and fp16 probabilities on the
// tensor-core and sdp paths (3e-4 each): 2e-3 leaves room, a wrong block, slot or rotation costs far more.
constexpr double kMaxRelativeError = 2e-3;

double run_backend(AttentionBackend backend, const test::KvBlockBatch& batch, cublasHandle_t cublas) {
    cuda::DeviceBuffer<__half> out(batch.reference.size(), "attention test output");
    test::poison(out);
    const auto workspace = test::make_poisoned_workspace(cuda::attention_workspace_bytes(backend, batch.params));
    cuda::run_attention(backend, batch.params, batch.q.data(), batch.kv, out.data(),
                        {workspace.data(), workspace.bytes()}, cublas, nullptr);
    CUDA_CHECK(cudaDeviceSynchronize());
    return test::relative_error_to_reference(batch, out);
}

// fresh_rows: prefill batches also run with the queries' own rows fresh (the split-K decode refuses them).
void check_every_backend(const AttentionCase& c, uint64_t seed, cublasHandle_t cublas, bool fresh_rows) {
    std::vector<KvBlockCase> layouts = {{cpu::KvFormat::F16, false},    {cpu::KvFormat::F16, true, 16},
                                        {cpu::KvFormat::Q8, false},     {cpu::KvFormat::Q8, true, 16},
                                        {cpu::KvFormat::Q8, true, 32},  {cpu::KvFormat::Q4, false},
                                        {cpu::KvFormat::Q4, true, 64},  {cpu::KvFormat::Q4, true, 128}};
    if (fresh_rows)
        layouts.insert(layouts.end(), {{cpu::KvFormat::Q8, true, 16, true},
                                       {cpu::KvFormat::Q4, false, 32, true},
                                       {cpu::KvFormat::Q4, true, 64, true}});
    for (const KvBlockCase& kv_case : layouts) {
        const test::KvBlockBatch batch = test::make_kv_block_batch(c, kv_case, seed++);
        for (const AttentionBackend backend :
             {AttentionBackend::Naive, AttentionBackend::Sdp, AttentionBackend::Flash, AttentionBackend::Xformers}) {
            const bool tiled = backend == AttentionBackend::Flash || backend == AttentionBackend::Xformers;
            for (const char* path : {"", "sm75", "simt"}) {
                if (!tiled && *path) continue;
                ForcedKernelPath forced(path);
                INFO(attention_backend_name(backend) << (*path ? std::string(" forced ") + path : std::string()) << ", "
                                                     << test::describe(kv_case) << ", " << test::describe(c));
                CHECK(run_backend(backend, batch, cublas) < kMaxRelativeError);
            }
        }
    }
}

}  // namespace

TEST_CASE("GPU attention reads fp16/q8/q4 caches, contiguous and paged: prefill", "[gpu][kvcache]") {
    CublasHandle cublas;
    uint64_t seed = 7100;
    // Lengths that are not block or group multiples; q4 keys of the last 5 and 6 positions are pending;
    // fresh rows from one position (70 of 102) to all (37 of 37).
    check_every_backend(test::make_case(64, {8, 2}, true, 0, {{37, 37}, {70, 102}}), seed += 20, cublas, true);
    check_every_backend(test::make_case(128, {4, 1}, true, 0, {{50, 50}, {1, 33}}), seed += 20, cublas, true);
    check_every_backend(test::make_case(256, {4, 4}, true, 0, {{40, 75}}), seed += 20, cublas, true);
    check_every_backend(test::make_case(64, {8, 2}, true, 40, {{90, 90}}), seed += 20, cublas, true);
}

TEST_CASE("GPU attention reads fp16/q8/q4 caches, contiguous and paged: split-K decode", "[gpu][kvcache]") {
    CublasHandle cublas;
    uint64_t seed = 7300;
    // Several splits, merged.
    check_every_backend(test::make_case(128, {8, 2}, true, 0, {{1, 1000}, {1, 45}}), seed += 20, cublas, false);
    check_every_backend(test::make_case(64, {8, 8}, true, 0, {{1, 300}, {1, 31}, {1, 32}}), seed += 20, cublas, false);
    check_every_backend(test::make_case(96, {16, 2}, true, 100, {{1, 700}}), seed += 20, cublas, false);
    // Fresh rows are for prefill calls: the split-K decode refuses a view that has them.
    const auto batch = test::make_kv_block_batch(test::make_case(64, {8, 2}, true, 0, {{1, 40}}),
                                                 {cpu::KvFormat::Q8, false, 32, true}, seed);
    CHECK_THROWS_AS(run_backend(AttentionBackend::Flash, batch, cublas), Error);
}

// ---- whole model -----------------------------------------------------------------------------------------

namespace {

// Teacher-forced on fp16's greedy tokens, the q8 model picks the same token at every step where fp16's best
// token leads the runner-up by more than q8's error can move logits (kClearMargin; the tiny random models
// have near-ties: tiny-qwen2-swa's 8th token with the naive backend flips under a 1e-7 change of the
// RMSNorm's rounding). Near-ties must stay rare, so that the check cannot pass vacuously.
void check_same_clear_choices(Model& fp16, Model& q8, const std::vector<int32_t>& prompt,
                              const std::vector<int32_t>& fp16_ids) {
    constexpr float kClearMargin = 0.1f;
    fp16.reset();
    q8.reset();
    std::vector<float> fp16_logits, q8_logits;
    fp16.forward(prompt, false, fp16_logits);
    q8.forward(prompt, false, q8_logits);
    int near_ties = 0;
    for (size_t step = 0; step < fp16_ids.size(); ++step) {
        const auto best = std::max_element(fp16_logits.begin(), fp16_logits.end());
        float runner_up = -INFINITY;
        for (auto it = fp16_logits.begin(); it != fp16_logits.end(); ++it)
            if (it != best) runner_up = std::max(runner_up, *it);
        REQUIRE(best - fp16_logits.begin() == fp16_ids[step]);
        if (*best - runner_up > kClearMargin) {
            INFO("step " << step);
            CHECK(std::max_element(q8_logits.begin(), q8_logits.end()) - q8_logits.begin() == fp16_ids[step]);
        } else {
            ++near_ties;
        }
        fp16.forward({fp16_ids[step]}, false, fp16_logits);
        q8.forward({fp16_ids[step]}, false, q8_logits);
    }
    CHECK(near_ties * 4 < int(fp16_ids.size()));
}

}  // namespace

TEST_CASE("GPU model with a q8 cache picks the fp16 greedy tokens; q4 decodes alike with and without graphs",
          "[gpu][model][kvcache]") {
    int models_run = 0;
    for (const auto& name : test::golden_model_names()) {
        const auto golden = test::load_golden_model(name);
        const int head_dim = ModelConfig::load(golden.dir).head_dim;
        // tiny-qwen3's 10th greedy token wins by 0.0045 logits, under q8's error (docs/KV_CACHE.md).
        if (head_dim % 32 != 0 || name.find("qwen3") != std::string::npos) continue;
        ++models_run;
        for (const auto backend : test::gpu_backends(head_dim)) {
            for (const bool paged : {false, true}) {
                INFO(name << " with " << attention_backend_name(backend) << (paged ? ", paged 32 (q4 64)" : ", contiguous"));
                auto fp16 = test::make_gpu_model(golden, {backend, true, cuda::GpuDtype::F16, {KvCacheType::F16, paged, 32}});
                const auto fp16_ids = test::greedy_continuation(*fp16, golden.prompt_ids, golden.greedy_ids.size());
                auto q8 = test::make_gpu_model(golden, {backend, true, cuda::GpuDtype::F16, {KvCacheType::Q8, paged, 32}});
                check_same_clear_choices(*fp16, *q8, golden.prompt_ids, fp16_ids);

                // q4 keys are encoded inside the decode graph when a group of 64 fills: teacher-force 64 decode
                // steps (one group completes) with and without graphs. The two differ only in split-K
                // summation order, whose rounding may flip a 4-bit code; a group encoded wrongly costs far more.
                auto q4_graphs = test::make_gpu_model(golden, {backend, true, cuda::GpuDtype::F16, {KvCacheType::Q4, paged, 64}});
                auto q4_eager = test::make_gpu_model(golden, {backend, false, cuda::GpuDtype::F16, {KvCacheType::Q4, paged, 64}});
                std::vector<float> graph_logits, eager_logits, fp16_logits;
                q4_graphs->forward(golden.prompt_ids, false, graph_logits);
                q4_eager->forward(golden.prompt_ids, true, eager_logits);
                fp16->reset();
                fp16->forward(golden.prompt_ids, true, fp16_logits);
                // The prompt is one prefill call, which reads its own positions as computed (fresh rows), never
                // their codes: fp16's logits up to its rounding of K/V (measured up to 8.7e-4 on the H100;
                // without fresh rows q4 errs ~0.17).
                CHECK(test::relative_error(eager_logits, fp16_logits) < 1e-2);
                double worst = 0;
                for (int step = 0; step < 64; ++step) {
                    const int32_t token = golden.greedy_ids[size_t(step) % golden.greedy_ids.size()];
                    q4_graphs->forward({token}, false, graph_logits);
                    q4_eager->forward({token}, false, eager_logits);
                    worst = std::max(worst, test::relative_error(graph_logits, eager_logits));
                }
                CHECK(worst < 0.05);
            }
        }
    }
    CHECK(models_run > 0);
}

// A bf16 model keeps bf16 rows in its 16-bit format and decodes q8/q4 blocks into bf16 tiles: paged 16-bit
// rows hold the contiguous values (only sdp's cuBLAS may sum them in another order, and one bf16 rounding
// flipped by that moves logits by ~1e-3); q8 and q4 read the prompt's own rows as computed (fresh rows), so
// they differ from the bf16 rows only by bf16's rounding of K/V, which the tiled kernels' bf16 tiles repeat
// (measured 0 there, up to 4.0e-3 with naive and sdp, on the H100), with every backend.
TEST_CASE("GPU model in bf16 reads paged, q8 and q4 caches", "[gpu][model][kvcache][bf16]") {
    if (!test::device_runs_bf16()) {
        WARN("skipped: bf16 needs an sm_80+ GPU on the sm80 kernel path");
        return;
    }
    const auto golden = test::load_golden_model("tiny-mistral-hd128");
    struct Expected {
        KvCacheOptions cache;
        double bound;
    };
    const Expected cases[] = {{{KvCacheType::F16, true, 16}, 2e-3}, {{KvCacheType::Q8, false, 32}, 1e-2},
                              {{KvCacheType::Q8, true, 32}, 1e-2}, {{KvCacheType::Q4, true, 64}, 1e-2}};
    for (const auto backend :
         {AttentionBackend::Naive, AttentionBackend::Sdp, AttentionBackend::Flash, AttentionBackend::Xformers}) {
        std::vector<float> reference, logits;
        test::make_gpu_model(golden, {backend, true, cuda::GpuDtype::BF16, {}})->forward(golden.prompt_ids, true, reference);
        for (const Expected& e : cases) {
            INFO(attention_backend_name(backend) << ", " << kv_cache_type_name(e.cache.type)
                                                 << (e.cache.paged ? " paged" : " contiguous"));
            auto model = test::make_gpu_model(golden, {backend, true, cuda::GpuDtype::BF16, e.cache});
            model->forward(golden.prompt_ids, true, logits);
            CHECK(test::relative_error(logits, reference) <= e.bound);
        }
    }
}
