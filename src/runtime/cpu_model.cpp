#include "src/runtime/cpu_model.h"

#include <algorithm>
#include <cmath>
#include <numeric>

#include "kernels/cpu/elementwise.h"
#include "kernels/cpu/matmul.h"
#include "src/common/error.h"

namespace attn {

CpuModel::CpuModel(const ModelConfig& config, const TensorStore& store, const CpuModelOptions& options)
    : config_(config),
      weights_(CpuWeights::load(config, store)),
      rope_(cpu::RopeTable::build(config.rope, config.head_dim)),
      backend_(choose_cpu_backend(options.backend)),
      cache_(make_cpu_kv_cache(options.kv_cache, config.n_layers, config.n_kv_heads, config.head_dim,
                               options.context_size > 0 ? options.context_size : config.max_position_embeddings)),
      pool_(options.threads > 0 ? options.threads : default_thread_count()) {}

std::string CpuModel::description() const {
    return "cpu, " + std::to_string(pool_.size()) + " threads, attention " + attention_backend_name(backend_.backend) +
           " (" + backend_.reason + "), kv cache " + cache_->summary();
}

void CpuModel::attention(const cpu::AttentionShape& shape, const float* q, int n, const KvView& kv, float* out) {
    switch (backend_.backend) {
        case AttentionBackend::Naive: cpu::attention_naive(shape, q, n, kv, out, pool_); return;
        case AttentionBackend::Sdp: cpu::attention_sdp(shape, q, n, kv, out, pool_); return;
        case AttentionBackend::Xformers: cpu::attention_tiled(shape, q, n, kv, out, pool_, 32, 64); return;
        case AttentionBackend::Flash:
        case AttentionBackend::Auto: cpu::attention_tiled(shape, q, n, kv, out, pool_); return;
    }
}

void CpuModel::forward(const std::vector<int32_t>& tokens, bool all_logits, std::vector<float>& logits) {
    const ModelConfig& c = config_;
    const int n = int(tokens.size());
    if (n == 0) throw Error("forward() needs at least one token");
    if (n_past_ + n > context_size())
        throw Error("sequence of " + std::to_string(n_past_ + n) + " tokens exceeds the context size " +
                    std::to_string(context_size()) + " (raise -c/--ctx-size)");
    const int hidden = c.hidden_size, q_dim = c.q_dim(), kv_dim = c.kv_dim(), ffn = c.intermediate_size;

    std::vector<float> x(size_t(n) * hidden), h(x.size()), attn_out(size_t(n) * q_dim), proj(x.size());
    std::vector<float> q(size_t(n) * q_dim), k(size_t(n) * kv_dim), v(k.size());
    std::vector<float> gate(size_t(n) * ffn), up(gate.size());
    std::vector<int> positions(n);
    std::iota(positions.begin(), positions.end(), n_past_);

    for (int t = 0; t < n; ++t) {
        if (tokens[t] < 0 || tokens[t] >= c.vocab_size)
            throw Error("token id " + std::to_string(tokens[t]) + " is outside the vocabulary of " +
                        std::to_string(c.vocab_size));
        std::copy_n(weights_.embed.data() + size_t(tokens[t]) * hidden, hidden, x.data() + size_t(t) * hidden);
    }

    for (int layer = 0; layer < c.n_layers; ++layer) {
        const CpuLayerWeights& w = weights_.layers[layer];
        auto bias = [](const std::vector<float>& b) { return b.empty() ? nullptr : b.data(); };
        cpu::rms_norm(x.data(), w.attn_norm.data(), n, hidden, c.rms_norm_eps, h.data());
        cpu::matmul(h.data(), n, hidden, w.wq.data(), q_dim, bias(w.bq), q.data(), pool_);
        cpu::matmul(h.data(), n, hidden, w.wk.data(), kv_dim, bias(w.bk), k.data(), pool_);
        cpu::matmul(h.data(), n, hidden, w.wv.data(), kv_dim, bias(w.bv), v.data(), pool_);
        if (c.qk_norm) {
            cpu::rms_norm(q.data(), w.q_norm.data(), n * c.n_heads, c.head_dim, c.rms_norm_eps, q.data());
            cpu::rms_norm(k.data(), w.k_norm.data(), n * c.n_kv_heads, c.head_dim, c.rms_norm_eps, k.data());
        }
        cpu::apply_rope(rope_, q.data(), n, c.n_heads, c.head_dim, positions.data());
        cpu::apply_rope(rope_, k.data(), n, c.n_kv_heads, c.head_dim, positions.data());
        cache_->write(layer, n_past_, n, k.data(), v.data());

        cpu::AttentionShape shape;
        shape.n_heads = c.n_heads;
        shape.n_kv_heads = c.n_kv_heads;
        shape.head_dim = c.head_dim;
        shape.scale = 1.0f / std::sqrt(float(c.head_dim));
        shape.window = c.layer_window[layer];
        KvView view = cache_->view(layer, n_past_ + n);
        view.attend_fresh_rows(k.data(), v.data(), n_past_);
        attention(shape, q.data(), n, view, attn_out.data());

        cpu::matmul(attn_out.data(), n, q_dim, w.wo.data(), hidden, bias(w.bo), proj.data(), pool_);
        cpu::add_inplace(x.data(), proj.data(), n * hidden);

        cpu::rms_norm(x.data(), w.mlp_norm.data(), n, hidden, c.rms_norm_eps, h.data());
        cpu::matmul(h.data(), n, hidden, w.w_gate.data(), ffn, nullptr, gate.data(), pool_);
        cpu::matmul(h.data(), n, hidden, w.w_up.data(), ffn, nullptr, up.data(), pool_);
        cpu::swiglu(gate.data(), up.data(), gate.data(), n * ffn);
        cpu::matmul(gate.data(), n, ffn, w.w_down.data(), hidden, nullptr, proj.data(), pool_);
        cpu::add_inplace(x.data(), proj.data(), n * hidden);
    }
    n_past_ += n;

    // Only the rows whose logits are wanted go through the final norm and the (large) LM head.
    const int first = all_logits ? 0 : n - 1, rows = n - first;
    cpu::rms_norm(x.data() + size_t(first) * hidden, weights_.final_norm.data(), rows, hidden, c.rms_norm_eps, h.data());
    logits.resize(size_t(rows) * c.vocab_size);
    cpu::matmul(h.data(), rows, hidden, weights_.output_matrix(), c.vocab_size, nullptr, logits.data(), pool_);
}

}  // namespace attn
