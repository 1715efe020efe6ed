// The sdp and tiled CPU attention against the naive reference on random inputs: GQA/MQA, causal and
// not, sliding windows, prefill and decode, lengths that are not multiples of any tile.
#include <catch2/catch.hpp>

#include "kernels/cpu/attention.h"
#include "tests/random_data.h"

using namespace attn;

namespace {

struct Case {
    int n_heads, n_kv_heads, head_dim, n_q, n_k, window;
    bool causal;
};

void check_case(const Case& c, ThreadPool& pool) {
    cpu::AttentionShape shape;
    shape.n_heads = c.n_heads;
    shape.n_kv_heads = c.n_kv_heads;
    shape.head_dim = c.head_dim;
    shape.scale = 1.0f / std::sqrt(float(c.head_dim));
    shape.causal = c.causal;
    shape.window = c.window;
    const uint64_t seed = uint64_t(c.n_heads * 131 + c.head_dim * 17 + c.n_q * 7 + c.n_k + c.window);
    const auto q = test::random_floats(size_t(c.n_q) * c.n_heads * c.head_dim, seed);
    const auto k = test::random_floats(size_t(c.n_k) * c.n_kv_heads * c.head_dim, seed + 1);
    const auto v = test::random_floats(k.size(), seed + 2);
    const KvView kv{k.data(), v.data(), c.n_kv_heads * c.head_dim, c.head_dim, c.n_k};

    auto ref = test::poisoned(q.size());
    cpu::attention_naive(shape, q.data(), c.n_q, kv, ref.data(), pool);
    auto sdp = test::poisoned(q.size());
    cpu::attention_sdp(shape, q.data(), c.n_q, kv, sdp.data(), pool);
    auto tiled = test::poisoned(q.size());
    cpu::attention_tiled(shape, q.data(), c.n_q, kv, tiled.data(), pool);
    auto tiled_large = test::poisoned(q.size());
    cpu::attention_tiled(shape, q.data(), c.n_q, kv, tiled_large.data(), pool, 32, 64);

    INFO("heads " << c.n_heads << "/" << c.n_kv_heads << " d " << c.head_dim << " n_q " << c.n_q << " n_k " << c.n_k
                  << " window " << c.window << " causal " << c.causal);
    CHECK(test::relative_error(sdp, ref) < 1e-5);
    CHECK(test::relative_error(tiled, ref) < 1e-5);
    CHECK(test::relative_error(tiled_large, ref) < 1e-5);
}

}  // namespace

TEST_CASE("CPU attention backends match the naive reference", "[attention][cpu]") {
    ThreadPool pool(2);
    for (int head_dim : {16, 64, 80, 128}) {
        for (auto heads : {std::pair{4, 4}, std::pair{8, 2}, std::pair{6, 1}}) {
            for (auto lengths : {std::pair{1, 1}, std::pair{1, 77}, std::pair{37, 37}, std::pair{5, 100}, std::pair{70, 70}}) {
                for (int window : {0, 1, 7, 33}) {
                    check_case({heads.first, heads.second, head_dim, lengths.first, lengths.second, window, true}, pool);
                }
            }
        }
    }
}

TEST_CASE("CPU attention without a causal mask", "[attention][cpu]") {
    ThreadPool pool(2);
    check_case({4, 2, 32, 19, 45, 0, false}, pool);
    check_case({4, 1, 64, 50, 50, 0, false}, pool);
}

TEST_CASE("Sliding window hides keys older than the window", "[attention][cpu]") {
    // With a window of 1 every query sees only its own key, so the output is exactly its value row.
    ThreadPool pool(1);
    cpu::AttentionShape shape{2, 1, 8, 0.35f, true, 1};
    const auto q = test::random_floats(5 * 2 * 8, 1);
    const auto k = test::random_floats(5 * 8, 2);
    const auto v = test::random_floats(5 * 8, 3);
    const KvView kv{k.data(), v.data(), 8, 8, 5};
    auto out = test::poisoned(q.size());
    cpu::attention_tiled(shape, q.data(), 5, kv, out.data(), pool);
    for (int t = 0; t < 5; ++t)
        for (int h = 0; h < 2; ++h)
            for (int d = 0; d < 8; ++d) CHECK(out[(t * 2 + h) * 8 + d] == Approx(v[t * 8 + d]).epsilon(1e-6));
}
