#pragma once
// The Llama-family forward pass on one CUDA GPU: fp16 or bf16 (T) weights and activations into cuBLAS with
// fp32 accumulation, an fp32 residual stream, our kernels for everything between the GEMMs, and attention
// through the selected backend. Decode steps (one token) replay a captured CUDA graph where the backend
// allows it, so a token costs one launch instead of ~10 per layer.
#include <memory>
#include <string>

#include <cublas_v2.h>

#include "kernels/cpu/rope.h"
#include "src/cuda/gpu_backend_choice.h"
#include "src/cuda/gpu_dtype.h"
#include "src/cuda/gpu_kv_cache.h"
#include "src/cuda/gpu_weights.h"
#include "src/runtime/attention_backend.h"
#include "src/runtime/model.h"

namespace attn::cuda {

struct CudaModelOptions {
    int device = 0;
    int context_size = 4096;
    int max_batch_tokens = 512;  // prompt tokens per forward; activations are sized for this
    AttentionBackend backend = AttentionBackend::Auto;
    GpuDtype dtype = GpuDtype::Auto;
    KvCacheOptions kv_cache;  // auto: fp16
    bool use_graphs = true;
    bool weight_values = true;  // false: weights allocated, never read (a memory probe; the model must not run)
};

// Resolves options.dtype (gpu_dtype.h) and builds the CudaModel of that element type.
std::unique_ptr<Model> make_cuda_model(const ModelConfig& config, const TensorStore& store,
                                       const CudaModelOptions& options);

template <typename T>
class CudaModel final : public Model {
public:
    CudaModel(const ModelConfig& config, const TensorStore& store, const CudaModelOptions& options);
    ~CudaModel() override;

    const ModelConfig& config() const override { return config_; }
    void forward(const std::vector<int32_t>& tokens, bool all_logits, std::vector<float>& logits) override;
    int32_t forward_and_sample(const std::vector<int32_t>& tokens, Sampler& sampler,
                               const std::vector<int32_t>& history) override;
    int n_past() const override { return n_past_; }
    int context_size() const override { return cache_->capacity_tokens(); }
    size_t kv_cache_bytes() const override { return cache_->bytes(); }
    void reset() override;
    std::string description() const override;

private:
    struct Activations;
    AttentionParams attention_params(int n, int kv_len_bound) const;
    void stage_inputs(const int32_t* tokens, int n);
    // kv_len_bound: the longest key range attention may meet (grid sizes); the true length is on the device.
    void run_layers(int n, bool all_logits, int kv_len_bound);
    void check_tokens(const std::vector<int32_t>& tokens) const;
    // Runs the layers for n staged tokens (and the sampler, when given), replaying the decode graph for a
    // single token where the backend allows.
    void run_step(int n, bool all_logits, const SamplingParams* sampling);
    void enqueue_sampling(const SamplingParams& sampling);
    void stage_recent_tokens(const SamplingParams& sampling, const std::vector<int32_t>& history);

    ModelConfig config_;
    CudaModelOptions options_;
    GpuBackendPlan backends_;
    std::string device_name_;
    // Owning wrappers, so that a constructor that throws half-way still releases the handles.
    struct Stream {
        cudaStream_t handle = nullptr;
        ~Stream() { if (handle) cudaStreamDestroy(handle); }
        operator cudaStream_t() const { return handle; }
    } stream_;
    struct Cublas {
        cublasHandle_t handle = nullptr;
        ~Cublas() { if (handle) cublasDestroy(handle); }
        operator cublasHandle_t() const { return handle; }
    } cublas_;
    GpuWeights<T> weights_;
    std::unique_ptr<GpuKvCache> cache_;
    std::unique_ptr<Activations> act_;
    DeviceBuffer<float> inv_freq_;
    float rope_attention_factor_ = 1.0f;
    cudaGraphExec_t decode_graph_ = nullptr;
    bool graph_samples_ = false;
    SamplingParams graph_sampling_;  // what the captured graph samples with
    int n_past_ = 0;
    int32_t host_q_offsets_[2] = {0, 0};
    int32_t host_kv_len_ = 0;
};

}  // namespace attn::cuda
