// The per-token CUDA kernels (embedding, RMSNorm, fused QKV bias/norm/RoPE, SwiGLU), in fp16 and bf16,
// against their CPU references on fresh random inputs, over sizes that are not multiples of the kernels' vector widths or
// block sizes and over misaligned buffers (the scalar paths). Outputs are poisoned with NaN first.
#include <catch2/catch.hpp>

#include <algorithm>
#include <cmath>
#include <cstring>
#include <numeric>
#include <random>
#include <vector>

#include "kernels/cpu/elementwise.h"
#include "kernels/cpu/rope.h"
#include "kernels/cuda/embedding.h"
#include "kernels/cuda/qkv_rope.h"
#include "kernels/cuda/rms_norm.h"
#include "kernels/cuda/swiglu.h"
#include "src/common/error.h"
#include "tests/gpu/gpu_test_util.h"
#include "tests/random_data.h"

using namespace attn;
using namespace attn::test;

namespace {

bool has_nan(const std::vector<float>& values) {
    return std::any_of(values.begin(), values.end(), [](float v) { return std::isnan(v); });
}

// Elements [offset, offset + count) of a device buffer: lets a test hand a kernel a misaligned pointer.
template <typename T>
std::vector<T> slice(const std::vector<T>& values, size_t offset, size_t count) {
    return std::vector<T>(values.begin() + std::ptrdiff_t(offset), values.begin() + std::ptrdiff_t(offset + count));
}

// Norm weights near 1, as trained models have them, rounded to T as they are stored.
template <typename T>
std::vector<float> norm_weights(size_t count, uint64_t seed) {
    std::vector<float> weights = random_floats(count, seed, 0.3f);
    for (float& w : weights) w += 1.0f;
    return round_to<T>(weights);
}

}  // namespace

TEMPLATE_TEST_CASE("embedding_lookup widens the 16-bit rows of the given ids", "[gpu]", __half, __nv_bfloat16) {
    const int vocab = 300;
    uint64_t seed = 100;
    for (const int hidden : {64, 80, 96, 128, 256, 576, 1000, 1001, 4100}) {
        for (const int n : {1, 3, 77}) {
            for (const size_t offset : {size_t(0), size_t(1)}) {  // 1: misaligned output, the scalar path
                INFO("hidden " << hidden << ", n " << n << ", output offset " << offset);
                const std::vector<TestType> table = to_elements<TestType>(random_floats(size_t(vocab) * hidden, ++seed));
                std::mt19937 rng(uint32_t(++seed));
                std::vector<int32_t> ids(n);
                for (int32_t& id : ids) id = int32_t(rng() % vocab);
                ids[0] = vocab - 1;  // both ends of the table
                if (n > 1) ids[1] = 0;

                const auto table_d = to_device(table);
                const auto ids_d = to_device(ids);
                cuda::DeviceBuffer<float> out_d(offset + size_t(n) * hidden, "test output");
                poison(out_d);
                cuda::embedding_lookup(table_d.data(), ids_d.data(), n, hidden, out_d.data() + offset, nullptr);
                CUDA_CHECK(cudaDeviceSynchronize());
                const std::vector<float> out = slice(to_host(out_d), offset, size_t(n) * hidden);

                std::vector<float> expected(size_t(n) * hidden);
                for (int t = 0; t < n; ++t)
                    for (int i = 0; i < hidden; ++i)
                        expected[size_t(t) * hidden + i] = cuda::to_float(table[size_t(ids[t]) * hidden + i]);
                CHECK_FALSE(has_nan(out));
                CHECK(out == expected);  // a copy: exact
            }
        }
    }
}

TEMPLATE_TEST_CASE("rms_norm matches cpu::rms_norm", "[gpu]", __half, __nv_bfloat16) {
    const float eps = 1e-6f;
    uint64_t seed = 200;
    for (const int dim : {64, 80, 96, 128, 256, 576, 999, 1000, 4098, 16384}) {
        for (const int n : {1, 3, 77}) {
            for (const size_t offset : {size_t(0), size_t(1)}) {  // 1: misaligned rows, the scalar path
                INFO("dim " << dim << ", n " << n << ", buffer offset " << offset);
                const std::vector<float> x = random_floats(size_t(n) * dim, ++seed, 2.0f);
                const std::vector<float> weight = norm_weights<TestType>(size_t(dim), ++seed);

                std::vector<float> x_shifted(offset);
                x_shifted.insert(x_shifted.end(), x.begin(), x.end());
                const auto x_d = to_device(x_shifted);
                const auto weight_d = to_device(to_elements<TestType>(weight));
                cuda::DeviceBuffer<TestType> out_d(offset + size_t(n) * dim, "test output");
                poison(out_d);
                cuda::rms_norm(x_d.data() + offset, weight_d.data(), n, dim, eps, out_d.data() + offset, nullptr);
                CUDA_CHECK(cudaDeviceSynchronize());
                const std::vector<float> out = slice(to_floats(to_host(out_d)), offset, size_t(n) * dim);

                std::vector<float> expected(size_t(n) * dim);
                cpu::rms_norm(x.data(), weight.data(), n, dim, eps, expected.data());
                CHECK_FALSE(has_nan(out));
                CHECK(relative_error(out, expected) < kOutputTolerance<TestType>);
            }
        }
    }
}

TEMPLATE_TEST_CASE("swiglu matches cpu::swiglu on the gate and up halves of each row", "[gpu]", __half, __nv_bfloat16) {
    uint64_t seed = 300;
    for (const int ffn : {64, 80, 96, 128, 256, 576, 1000, 1001, 2050}) {
        for (const int n : {1, 3, 77}) {
            for (const size_t offset : {size_t(0), size_t(1)}) {  // 1: misaligned buffers, the scalar path
                INFO("ffn " << ffn << ", n " << n << ", buffer offset " << offset);
                // Gates up to about ±8: both tails of silu, where exp(-g) under- or overflows.
                const std::vector<float> gate_up = random_floats(size_t(n) * 2 * ffn, ++seed, 3.0f);

                std::vector<float> shifted(offset);
                shifted.insert(shifted.end(), gate_up.begin(), gate_up.end());
                const auto gate_up_d = to_device(shifted);
                cuda::DeviceBuffer<TestType> out_d(offset + size_t(n) * ffn, "test output");
                poison(out_d);
                cuda::swiglu(gate_up_d.data() + offset, n, ffn, out_d.data() + offset, nullptr);
                CUDA_CHECK(cudaDeviceSynchronize());
                const std::vector<float> out = slice(to_floats(to_host(out_d)), offset, size_t(n) * ffn);

                std::vector<float> gate(size_t(n) * ffn), up(size_t(n) * ffn), expected(size_t(n) * ffn);
                for (int t = 0; t < n; ++t) {
                    std::copy_n(gate_up.begin() + std::ptrdiff_t(size_t(t) * 2 * ffn), ffn,
                                gate.begin() + std::ptrdiff_t(size_t(t) * ffn));
                    std::copy_n(gate_up.begin() + std::ptrdiff_t(size_t(t) * 2 * ffn + ffn), ffn,
                                up.begin() + std::ptrdiff_t(size_t(t) * ffn));
                }
                cpu::swiglu(gate.data(), up.data(), expected.data(), n * ffn);
                CHECK_FALSE(has_nan(out));
                CHECK(relative_error(out, expected) < kOutputTolerance<TestType>);
            }
        }
    }
}

namespace {

struct HeadShape {
    int n_heads, n_kv_heads, head_dim;
};

// One RoPE configuration of each scaling type, with the parameters of a model that uses it.
std::vector<std::pair<const char*, RopeConfig>> rope_configs() {
    RopeConfig plain;
    plain.theta = 10000.0;
    RopeConfig linear = plain;
    linear.scaling = RopeScaling::Linear;
    linear.factor = 4.0;
    RopeConfig llama3;
    llama3.scaling = RopeScaling::Llama3;
    llama3.theta = 500000.0;
    llama3.factor = 8.0;
    llama3.low_freq_factor = 1.0;
    llama3.high_freq_factor = 4.0;
    llama3.original_max_position_embeddings = 8192;
    RopeConfig yarn;
    yarn.scaling = RopeScaling::Yarn;
    yarn.theta = 1000000.0;
    yarn.factor = 4.0;
    yarn.original_max_position_embeddings = 32768;
    yarn.beta_fast = 32.0;
    yarn.beta_slow = 1.0;
    yarn.attention_factor = 0.1 * std::log(4.0) + 1.0;  // transformers' default mscale for factor 4
    return {{"none", plain}, {"linear", linear}, {"llama3", llama3}, {"yarn", yarn}};
}

// The fused kernel's reference: split the columns, add the bias, normalise q and k per head, rotate.
struct QkvReference {
    std::vector<float> q, k, v;  // [n][heads][head_dim]
};

QkvReference reference_qkv(const std::vector<float>& qkv, const std::vector<float>& bias,
                           const std::vector<float>& q_norm, const std::vector<float>& k_norm, float eps,
                           const cpu::RopeTable& table, const std::vector<int>& positions, int n, HeadShape s) {
    const int q_dim = s.n_heads * s.head_dim, kv_dim = s.n_kv_heads * s.head_dim, width = q_dim + 2 * kv_dim;
    QkvReference r{std::vector<float>(size_t(n) * q_dim), std::vector<float>(size_t(n) * kv_dim),
                   std::vector<float>(size_t(n) * kv_dim)};
    for (int t = 0; t < n; ++t) {
        for (int c = 0; c < width; ++c) {
            const float value = qkv[size_t(t) * width + c] + (bias.empty() ? 0.0f : bias[size_t(c)]);
            if (c < q_dim) r.q[size_t(t) * q_dim + c] = value;
            else if (c < q_dim + kv_dim) r.k[size_t(t) * kv_dim + (c - q_dim)] = value;
            else r.v[size_t(t) * kv_dim + (c - q_dim - kv_dim)] = value;
        }
    }
    if (!q_norm.empty()) cpu::rms_norm(r.q.data(), q_norm.data(), n * s.n_heads, s.head_dim, eps, r.q.data());
    if (!k_norm.empty()) cpu::rms_norm(r.k.data(), k_norm.data(), n * s.n_kv_heads, s.head_dim, eps, r.k.data());
    cpu::apply_rope(table, r.q.data(), n, s.n_heads, s.head_dim, positions.data());
    cpu::apply_rope(table, r.k.data(), n, s.n_kv_heads, s.head_dim, positions.data());
    return r;
}

// All-ones 16-bit elements: NaN in fp16 and in bf16.
template <typename T>
std::vector<T> nan_elements(size_t count) {
    const uint16_t bits = 0xffff;
    T nan;
    std::memcpy(&nan, &bits, sizeof nan);
    return std::vector<T>(count, nan);
}

template <typename T>
bool same_bits(const T& a, const T& b) {
    return std::memcmp(&a, &b, sizeof(T)) == 0;
}

}  // namespace

TEMPLATE_TEST_CASE("qkv_bias_norm_rope matches bias, cpu::rms_norm per head and cpu::apply_rope", "[gpu]", __half,
                   __nv_bfloat16) {
    const float eps = 1e-6f;
    const HeadShape shapes[] = {{4, 2, 64}, {3, 1, 80}, {2, 2, 96}, {4, 1, 128}, {2, 1, 256}, {3, 3, 34}};
    uint64_t seed = 400;
    for (const auto& [rope_name, rope] : rope_configs()) {
        for (const HeadShape s : shapes) {
            const cpu::RopeTable table = cpu::RopeTable::build(rope, s.head_dim);
            const auto inv_freq_d = to_device(table.inv_freq);
            for (const int n : {1, 3, 77}) {
                for (const bool with_bias : {false, true}) {
                    for (const bool with_norm : {false, true}) {
                        INFO("rope " << rope_name << ", heads " << s.n_heads << "/" << s.n_kv_heads << ", head_dim "
                                     << s.head_dim << ", n " << n << ", bias " << with_bias << ", q/k norm "
                                     << with_norm);
                        const int q_dim = s.n_heads * s.head_dim, kv_dim = s.n_kv_heads * s.head_dim;
                        const int width = q_dim + 2 * kv_dim;
                        const std::vector<float> qkv = random_floats(size_t(n) * width, ++seed);
                        // Bias and norm weights exist on the device either way; the kernel sees null when off.
                        const std::vector<float> bias_values =
                            round_to<TestType>(random_floats(size_t(width), ++seed, 0.5f));
                        const std::vector<float> q_norm_values = norm_weights<TestType>(size_t(s.head_dim), ++seed);
                        const std::vector<float> k_norm_values = norm_weights<TestType>(size_t(s.head_dim), ++seed);
                        const std::vector<float> none;

                        // Positions far from 0 and out of order; cache rows scattered over a larger cache.
                        std::mt19937 rng(uint32_t(++seed));
                        std::vector<int> positions(n);
                        for (int& p : positions) p = 1000 + int(rng() % 60000);
                        const int capacity = 2 * n + 7;
                        std::vector<int64_t> all_rows(capacity);
                        std::iota(all_rows.begin(), all_rows.end(), int64_t(0));
                        std::shuffle(all_rows.begin(), all_rows.end(), rng);
                        const std::vector<int64_t> cache_rows(all_rows.begin(), all_rows.begin() + n);

                        // Rows the kernel must write start as NaN, the others hold values it must leave alone.
                        std::vector<TestType> k_before = to_elements<TestType>(random_floats(size_t(capacity) * kv_dim, ++seed));
                        std::vector<TestType> v_before = to_elements<TestType>(random_floats(size_t(capacity) * kv_dim, ++seed));
                        const std::vector<TestType> nan_row = nan_elements<TestType>(size_t(kv_dim));
                        for (const int64_t row : cache_rows) {
                            std::copy(nan_row.begin(), nan_row.end(), k_before.begin() + std::ptrdiff_t(row * kv_dim));
                            std::copy(nan_row.begin(), nan_row.end(), v_before.begin() + std::ptrdiff_t(row * kv_dim));
                        }

                        const auto qkv_d = to_device(qkv);
                        const auto bias_d = to_device(to_elements<TestType>(bias_values));
                        const auto q_norm_d = to_device(to_elements<TestType>(q_norm_values));
                        const auto k_norm_d = to_device(to_elements<TestType>(k_norm_values));
                        const auto positions_d = to_device(positions);
                        const auto cache_rows_d = to_device(cache_rows);
                        // One 16-bit (TestType) block of `capacity` rows (kernels/cpu/kv_quant.h): K rows, then V rows.
                        cuda::KvCacheWrite cache;
                        cache.layout = {cpu::KvFormat::F16, s.n_kv_heads, s.head_dim, capacity};
                        cache.block_stride_bytes = cache.layout.block_bytes();
                        std::vector<TestType> block_before(size_t(cache.block_stride_bytes) / sizeof(TestType));
                        std::copy(k_before.begin(), k_before.end(), block_before.begin());
                        std::copy(v_before.begin(), v_before.end(), block_before.begin() + std::ptrdiff_t(k_before.size()));
                        auto block_d = to_device(block_before);
                        cache.blocks = reinterpret_cast<uint8_t*>(block_d.data());
                        cuda::DeviceBuffer<TestType> q_d(size_t(n) * q_dim, "test output");
                        poison(q_d);

                        cuda::QkvRopeParams<TestType> params;
                        params.n_tokens = n;
                        params.n_heads = s.n_heads;
                        params.n_kv_heads = s.n_kv_heads;
                        params.head_dim = s.head_dim;
                        params.bias = with_bias ? bias_d.data() : nullptr;
                        params.q_norm = with_norm ? q_norm_d.data() : nullptr;
                        params.k_norm = with_norm ? k_norm_d.data() : nullptr;
                        params.eps = eps;
                        params.inv_freq = inv_freq_d.data();
                        params.attention_factor = table.attention_factor;
                        params.positions = positions_d.data();
                        params.cache_rows = cache_rows_d.data();
                        cuda::qkv_bias_norm_rope(params, qkv_d.data(), q_d.data(), cache, nullptr);
                        CUDA_CHECK(cudaDeviceSynchronize());

                        const QkvReference expected =
                            reference_qkv(qkv, with_bias ? bias_values : none, with_norm ? q_norm_values : none,
                                          with_norm ? k_norm_values : none, eps, table, positions, n, s);
                        const std::vector<float> q = to_floats(to_host(q_d));
                        const std::vector<TestType> block_after = to_host(block_d);
                        const std::vector<TestType> k_after(block_after.begin(), block_after.begin() + std::ptrdiff_t(k_before.size()));
                        const std::vector<TestType> v_after(block_after.begin() + std::ptrdiff_t(k_before.size()),
                                                          block_after.begin() + std::ptrdiff_t(2 * k_before.size()));
                        std::vector<float> k, v;
                        for (const int64_t row : cache_rows) {
                            const auto first = std::ptrdiff_t(row * kv_dim);
                            const std::vector<float> k_row =
                                to_floats(std::vector<TestType>(k_after.begin() + first, k_after.begin() + first + kv_dim));
                            const std::vector<float> v_row =
                                to_floats(std::vector<TestType>(v_after.begin() + first, v_after.begin() + first + kv_dim));
                            k.insert(k.end(), k_row.begin(), k_row.end());
                            v.insert(v.end(), v_row.begin(), v_row.end());
                        }
                        CHECK_FALSE(has_nan(q));
                        CHECK_FALSE(has_nan(k));
                        CHECK_FALSE(has_nan(v));
                        CHECK(relative_error(q, expected.q) < kOutputTolerance<TestType>);
                        CHECK(relative_error(k, expected.k) < kOutputTolerance<TestType>);
                        CHECK(relative_error(v, expected.v) < kOutputTolerance<TestType>);

                        size_t untouched_changed = 0;
                        for (auto row = all_rows.begin() + n; row != all_rows.end(); ++row)
                            for (int i = 0; i < kv_dim; ++i) {
                                const size_t at = size_t(*row * kv_dim + i);
                                untouched_changed += !same_bits(k_after[at], k_before[at]);
                                untouched_changed += !same_bits(v_after[at], v_before[at]);
                            }
                        CHECK(untouched_changed == 0);
                    }
                }
            }
        }
    }
}

TEST_CASE("qkv_bias_norm_rope rejects head sizes it cannot hold", "[gpu]") {
    for (const int head_dim : {0, 63, 258, 512}) {
        INFO("head_dim " << head_dim);
        cuda::QkvRopeParams<__half> params;
        params.n_tokens = 1;
        params.n_heads = 1;
        params.n_kv_heads = 1;
        params.head_dim = head_dim;
        CHECK_THROWS_AS(cuda::qkv_bias_norm_rope<__half>(params, nullptr, nullptr, cuda::KvCacheWrite{}, nullptr), Error);
    }
}
