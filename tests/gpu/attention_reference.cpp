#include "tests/gpu/attention_reference.h"

#include <algorithm>
#include <cmath>
#include <limits>
#include <sstream>

#include "kernels/cpu/attention.h"
#include "src/runtime/thread_pool.h"
#include "tests/gpu/gpu_test_util.h"
#include "tests/random_data.h"

namespace attn::test {
namespace {

// Random T-exact values where a sequence's positions and kv heads are, each position's row scaled by
// 1 + growth * pos, NaN in the slack around them.
template <typename T>
std::vector<float> random_cache(const AttentionCase& c, int64_t seq_stride, int64_t token_stride, float growth,
                                uint64_t seed) {
    std::vector<float> cache = random_floats(c.sequences.size() * seq_stride, seed);
    const int64_t kv_dim = int64_t(c.n_kv_heads) * c.head_dim;
    for (size_t b = 0; b < c.sequences.size(); ++b)
        for (int64_t pos = 0; pos < seq_stride / token_stride; ++pos)
            for (int64_t e = 0; e < token_stride; ++e) {
                float& x = cache[b * seq_stride + pos * token_stride + e];
                x = pos >= c.sequences[b].kv_len || e >= kv_dim ? std::numeric_limits<float>::quiet_NaN()
                                                                : x * (1.0f + growth * float(pos));
            }
    return round_to<T>(cache);
}

}  // namespace

AttentionCase make_case(int head_dim, std::pair<int, int> heads, bool causal, int window,
                        std::vector<SequenceLengths> sequences) {
    AttentionCase c;
    c.n_heads = heads.first;
    c.n_kv_heads = heads.second;
    c.head_dim = head_dim;
    c.causal = causal;
    c.window = window;
    c.sequences = std::move(sequences);
    return c;
}

std::string describe(const AttentionCase& c) {
    std::ostringstream text;
    text << "heads " << c.n_heads << "/" << c.n_kv_heads << ", head_dim " << c.head_dim << ", "
         << (c.causal ? "causal" : "not causal") << ", window " << c.window << ", (q_len, kv_len):";
    for (const SequenceLengths& s : c.sequences) text << " (" << s.q_len << ", " << s.kv_len << ")";
    if (c.key_growth != 0.0f) text << ", keys growing by " << c.key_growth << " a position";
    return text.str();
}

void VarlenBatch::assign(const AttentionCase& c) {
    host_q_offsets = {0};
    host_kv_lens.clear();
    max_q_len = max_kv_len = 0;
    for (const SequenceLengths& s : c.sequences) {
        host_q_offsets.push_back(host_q_offsets.back() + s.q_len);
        host_kv_lens.push_back(s.kv_len);
        max_q_len = std::max(max_q_len, s.q_len);
        max_kv_len = std::max(max_kv_len, s.kv_len);
    }
    total_q = host_q_offsets.back();
    q_offsets = to_device(host_q_offsets);
    kv_lens = to_device(host_kv_lens);
}

cuda::AttentionParams VarlenBatch::params(const AttentionCase& c, bool kv_in_blocks) const {
    cuda::AttentionParams p;
    p.batch = int(c.sequences.size());
    p.n_heads = c.n_heads;
    p.n_kv_heads = c.n_kv_heads;
    p.head_dim = c.head_dim;
    p.scale = 1.0f / std::sqrt(float(c.head_dim));
    p.causal = c.causal;
    p.window = c.window;
    p.q_offsets = q_offsets.data();
    p.kv_lens = kv_lens.data();
    p.max_q_len = max_q_len;
    p.max_kv_len = max_kv_len;
    p.total_q = total_q;
    p.h_q_offsets = host_q_offsets.data();
    p.h_kv_lens = host_kv_lens.data();
    p.kv_in_blocks = kv_in_blocks;
    return p;
}

std::vector<float> reference_attention(const AttentionCase& c, const VarlenBatch& lengths, const std::vector<float>& q,
                                       const float* k, const float* v, int64_t seq_stride, int64_t token_stride) {
    static ThreadPool pool(default_thread_count());
    cpu::AttentionShape shape;
    shape.n_heads = c.n_heads;
    shape.n_kv_heads = c.n_kv_heads;
    shape.head_dim = c.head_dim;
    shape.scale = 1.0f / std::sqrt(float(c.head_dim));
    shape.causal = c.causal;
    shape.window = c.window;
    const int64_t q_row = int64_t(c.n_heads) * c.head_dim;
    std::vector<float> reference = poisoned(q.size());
    for (size_t b = 0; b < c.sequences.size(); ++b) {
        const KvView view{k + b * seq_stride, v + b * seq_stride, token_stride, c.head_dim, c.sequences[b].kv_len};
        const int64_t first = lengths.host_q_offsets[b] * q_row;
        cpu::attention_naive(shape, q.data() + first, c.sequences[b].q_len, view, reference.data() + first, pool);
    }
    return reference;
}

template <typename T>
AttentionBatch<T> make_attention_batch(const AttentionCase& c, uint64_t seed) {
    AttentionBatch<T> batch;
    batch.lengths.assign(c);
    const int64_t token_stride = int64_t(c.n_kv_heads) * c.head_dim + c.token_padding;
    const int64_t seq_stride = (batch.lengths.max_kv_len + c.spare_positions) * token_stride;
    const int64_t q_row = int64_t(c.n_heads) * c.head_dim;

    const std::vector<float> q = round_to<T>(random_floats(batch.lengths.total_q * q_row, seed));
    const std::vector<float> k = random_cache<T>(c, seq_stride, token_stride, c.key_growth, seed + 1);
    const std::vector<float> v = random_cache<T>(c, seq_stride, token_stride, 0.0f, seed + 2);
    batch.reference = reference_attention(c, batch.lengths, q, k.data(), v.data(), seq_stride, token_stride);

    batch.q = to_device(to_elements<T>(q));
    batch.k_cache = to_device(to_elements<T>(k));
    batch.v_cache = to_device(to_elements<T>(v));
    batch.kv = {batch.k_cache.data(), batch.v_cache.data(), seq_stride, token_stride};
    batch.params = batch.lengths.params(c, false);
    return batch;
}

template <typename T>
cuda::DeviceBuffer<T> make_poisoned_output(const AttentionBatch<T>& batch) {
    cuda::DeviceBuffer<T> out(batch.reference.size(), "attention test output");
    poison(out);
    return out;
}

template <typename T>
double relative_error_to_reference(const AttentionBatch<T>& batch, const cuda::DeviceBuffer<T>& out) {
    return relative_error(to_floats(to_host(out)), batch.reference);
}

template AttentionBatch<__half> make_attention_batch(const AttentionCase&, uint64_t);
template AttentionBatch<__nv_bfloat16> make_attention_batch(const AttentionCase&, uint64_t);
template cuda::DeviceBuffer<__half> make_poisoned_output(const AttentionBatch<__half>&);
template cuda::DeviceBuffer<__nv_bfloat16> make_poisoned_output(const AttentionBatch<__nv_bfloat16>&);
template double relative_error_to_reference(const AttentionBatch<__half>&, const cuda::DeviceBuffer<__half>&);
template double relative_error_to_reference(const AttentionBatch<__nv_bfloat16>&,
                                            const cuda::DeviceBuffer<__nv_bfloat16>&);

}  // namespace attn::test
