#pragma once
// The forward pass of the Llama family (llama, mistral, qwen2, qwen3) on the CPU in fp32:
// embedding -> N x [RMSNorm, q/k/v (+bias), q/k norm, RoPE, attention over the cache, o_proj, residual,
// RMSNorm, SwiGLU MLP, residual] -> RMSNorm -> LM head.
#include <memory>

#include "kernels/cpu/attention.h"
#include "kernels/cpu/rope.h"
#include "src/runtime/attention_backend.h"
#include "src/runtime/cpu_weights.h"
#include "src/runtime/kv_cache.h"
#include "src/runtime/model.h"
#include "src/runtime/thread_pool.h"

namespace attn {

struct CpuModelOptions {
    int threads = 0;  // 0: every hardware thread
    int context_size = 0;  // 0: the model's max_position_embeddings
    AttentionBackend backend = AttentionBackend::Auto;
    KvCacheOptions kv_cache;
};

class CpuModel final : public Model {
public:
    CpuModel(const ModelConfig& config, const TensorStore& store, const CpuModelOptions& options);

    const ModelConfig& config() const override { return config_; }
    void forward(const std::vector<int32_t>& tokens, bool all_logits, std::vector<float>& logits) override;
    int n_past() const override { return n_past_; }
    int context_size() const override { return cache_->capacity_tokens(); }
    size_t kv_cache_bytes() const override { return cache_->bytes(); }
    void reset() override {
        n_past_ = 0;
        cache_->reset();
    }
    std::string description() const override;
    const BackendChoice& backend() const { return backend_; }

private:
    void attention(const cpu::AttentionShape& shape, const float* q, int n, const KvView& kv, float* out);

    ModelConfig config_;
    CpuWeights weights_;
    cpu::RopeTable rope_;
    BackendChoice backend_;
    std::unique_ptr<KvCache> cache_;
    ThreadPool pool_;
    int n_past_ = 0;
};

}  // namespace attn
