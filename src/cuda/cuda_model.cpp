#include "src/cuda/cuda_model.h"

#include <algorithm>
#include <cmath>
#include <cstring>
#include <numeric>

#include <spdlog/spdlog.h>

#include "kernels/cuda/attention_dispatch.h"
#include "kernels/cuda/attention_sdp.h"
#include "kernels/cuda/bias_add.h"
#include "kernels/cuda/embedding.h"
#include "kernels/cuda/flash/kernel_path.h"
#include "kernels/cuda/qkv_rope.h"
#include "kernels/cuda/sampling.h"
#include "src/common/format_bytes.h"
#include "src/cuda/check.h"
#include "src/cuda/gpu_backend_choice.h"
#include "src/cuda/linear.h"
#include "src/cuda/pinned_buffer.h"

namespace attn::cuda {

// A forward's small inputs in one buffer, so that one copy stages them (each small copy costs the stream
// microseconds): [q_offsets 0, n][kv_len][pad][cache rows: n int64][tokens: n int32][positions: n int32].
// The header sits at fixed addresses, and a decode step's n = 1 fixes the rest, as a captured graph needs.
// Written into a pinned host mirror without a stream sync: the mirror is rewritten only after the previous
// forward was awaited, as every public call ends in a sync.
class StepInputs {
public:
    explicit StepInputs(int max_tokens)
        : device_(kHeaderBytes + size_t(max_tokens) * kBytesPerToken, "step inputs"),
          staged_(kHeaderBytes + size_t(max_tokens) * kBytesPerToken) {
        CUDA_CHECK(cudaMemset(device_.data(), 0, kHeaderBytes));  // no sequence yet: empty offsets and length
    }

    int32_t* q_offsets() const { return reinterpret_cast<int32_t*>(device_.data()); }
    int32_t* kv_lens() const { return q_offsets() + 2; }
    int64_t* cache_rows() const { return rows_in(device_.data()); }
    int32_t* tokens(int n) const { return tokens_in(device_.data(), n); }
    int32_t* positions(int n) const { return tokens(n) + n; }

    // Copies n tokens from n_past on, and their cache rows, to the device.
    template <typename RowOf>
    void stage(const int32_t* tokens, int n, int n_past, RowOf row_of, cudaStream_t stream) {
        int32_t* header = reinterpret_cast<int32_t*>(staged_.data());
        header[0] = 0;
        header[1] = n;
        header[2] = n_past + n;
        int64_t* rows = rows_in(staged_.data());
        int32_t* staged_tokens = tokens_in(staged_.data(), n);
        int32_t* positions = staged_tokens + n;
        for (int i = 0; i < n; ++i) {
            rows[i] = row_of(n_past + i);
            staged_tokens[i] = tokens[i];
            positions[i] = n_past + i;
        }
        CUDA_CHECK(cudaMemcpyAsync(device_.data(), staged_.data(), kHeaderBytes + size_t(n) * kBytesPerToken,
                                   cudaMemcpyHostToDevice, stream));
    }

private:
    static constexpr size_t kHeaderBytes = 16;
    static constexpr size_t kBytesPerToken = sizeof(int64_t) + 2 * sizeof(int32_t);
    static int64_t* rows_in(uint8_t* base) { return reinterpret_cast<int64_t*>(base + kHeaderBytes); }
    static int32_t* tokens_in(uint8_t* base, int n) {
        return reinterpret_cast<int32_t*>(base + kHeaderBytes + size_t(n) * sizeof(int64_t));
    }

    DeviceBuffer<uint8_t> device_;
    PinnedBuffer<uint8_t> staged_;
};

// Per-forward scratch, sized once for max_batch_tokens, and the step inputs.
template <typename T>
struct CudaModel<T>::Activations {
    Activations(const ModelConfig& c, int max_tokens)
        : x(size_t(max_tokens) * c.hidden_size, "activations"),
          normed(size_t(max_tokens) * c.hidden_size, "activations"),
          qkv(size_t(max_tokens) * (c.q_dim() + 2 * c.kv_dim()), "activations"),
          q(size_t(max_tokens) * c.q_dim(), "activations"),
          attn_out(size_t(max_tokens) * c.q_dim(), "activations"),
          gate_up(size_t(max_tokens) * 2 * c.intermediate_size, "activations"),
          mlp_in(size_t(max_tokens) * c.intermediate_size, "activations"),
          logits(size_t(max_tokens) * c.vocab_size, "logits"),
          inputs(max_tokens),
          sampled(1, "sampler"),
          sample_step(1, "sampler"),
          sampling_workspace(sampling_workspace_bytes(c.vocab_size), "sampler") {}

    DeviceBuffer<float> x;
    DeviceBuffer<T> normed;
    DeviceBuffer<float> qkv;
    DeviceBuffer<T> q, attn_out;
    DeviceBuffer<float> gate_up;
    DeviceBuffer<T> mlp_in;
    DeviceBuffer<float> logits;
    StepInputs inputs;
    DeviceBuffer<uint8_t> attention_workspace;
    DeviceBuffer<int32_t> sampled;
    DeviceBuffer<uint64_t> sample_step;
    DeviceBuffer<uint8_t> sampling_workspace;
    DeviceBuffer<int32_t> recent_tokens;  // repetition-penalty window, padded with -1 to a fixed size
    PinnedBuffer<int32_t> staged_recent;
    int logits_rows = 0;
};

template <typename T>
CudaModel<T>::CudaModel(const ModelConfig& config, const TensorStore& store, const CudaModelOptions& options)
    : config_(config), options_(options) {
    CUDA_CHECK(cudaSetDevice(options.device));
    cudaDeviceProp prop{};
    CUDA_CHECK(cudaGetDeviceProperties(&prop, options.device));
    device_name_ = std::string(prop.name) + " (sm_" + std::to_string(prop.major) + std::to_string(prop.minor) + ")";
    backends_ = choose_gpu_backends(options.backend, prop.major * 10 + prop.minor, config.head_dim);
    CUDA_CHECK(cudaStreamCreateWithFlags(&stream_.handle, cudaStreamNonBlocking));
    CUBLAS_CHECK(cublasCreate(&cublas_.handle));
    CUBLAS_CHECK(cublasSetStream(cublas_, stream_));

    weights_ = GpuWeights<T>::upload(config, store, options.weight_values);
    spdlog::info("weights: {} {} on {}", format_bytes(weights_.bytes), ElementTraits<T>::kName, device_name_);
    act_ = std::make_unique<Activations>(config, options.max_batch_tokens);
    cache_ = std::make_unique<GpuKvCache>(options.kv_cache, config.n_layers, config.n_kv_heads, config.head_dim,
                                          options.context_size);
    spdlog::info("kv cache: {}", cache_->summary());

    const cpu::RopeTable rope = cpu::RopeTable::build(config.rope, config.head_dim);
    inv_freq_ = DeviceBuffer<float>(rope.inv_freq.size(), "rope table");
    CUDA_CHECK(cudaMemcpy(inv_freq_.data(), rope.inv_freq.data(), inv_freq_.bytes(), cudaMemcpyHostToDevice));
    rope_attention_factor_ = rope.attention_factor;

    // Prefill and decode may use different kernels (split-K for one query): size for the larger.
    const size_t workspace = std::max(
        attention_workspace_bytes(backends_.prefill.backend, attention_params(options.max_batch_tokens, options.context_size)),
        attention_workspace_bytes(backends_.decode.backend, attention_params(1, options.context_size)));
    if (workspace) {
        act_->attention_workspace = DeviceBuffer<uint8_t>(workspace, "attention workspace");
        spdlog::info("attention workspace: {}", format_bytes(workspace));
    }
    if (backends_.prefill.backend == AttentionBackend::Sdp)
        spdlog::info("prefill {}", describe_sdp_workspace(attention_params(options.max_batch_tokens, options.context_size),
                                                          kDefaultSdpWorkspaceCapBytes));
    if (backends_.decode.backend == AttentionBackend::Sdp)
        spdlog::info("decode {}", describe_sdp_workspace(attention_params(1, options.context_size),
                                                         kDefaultSdpWorkspaceCapBytes));
    // The uploads above (cudaMemcpy, cudaMemset) run on the legacy default stream, which the model's
    // non-blocking stream does not wait for (a pageable cudaMemcpy may even return before its DMA ends).
    CUDA_CHECK(cudaDeviceSynchronize());
}

template <typename T>
CudaModel<T>::~CudaModel() {
    if (decode_graph_) cudaGraphExecDestroy(decode_graph_);
}

template <typename T>
void CudaModel<T>::reset() {
    n_past_ = 0;
    cache_->reset();
}

template <typename T>
std::string CudaModel<T>::description() const {
    return device_name_ + ", attention: prefill " + attention_backend_name(backends_.prefill.backend) + " (" +
           backends_.prefill.reason + "), decode " + attention_backend_name(backends_.decode.backend) + " (" +
           backends_.decode.reason + "), " + ElementTraits<T>::kName + " weights, kv cache " + cache_->summary() + ", " +
           (options_.use_graphs && backend_allows_graphs(backends_.decode.backend) ? "decode in CUDA graphs"
                                                                                   : "no CUDA graphs");
}

template <typename T>
AttentionParams CudaModel<T>::attention_params(int n, int kv_len) const {
    AttentionParams p;
    p.batch = 1;
    p.n_heads = config_.n_heads;
    p.n_kv_heads = config_.n_kv_heads;
    p.head_dim = config_.head_dim;
    p.scale = 1.0f / std::sqrt(float(config_.head_dim));
    p.causal = true;
    p.q_offsets = act_ ? act_->inputs.q_offsets() : nullptr;
    p.kv_lens = act_ ? act_->inputs.kv_lens() : nullptr;
    p.max_q_len = n;
    p.max_kv_len = kv_len;
    p.total_q = n;
    p.h_q_offsets = host_q_offsets_;
    p.h_kv_lens = &host_kv_len_;
    p.kv_in_blocks = cache_ && !cache_->rows_strided();
    return p;
}

// Copies this forward's token ids, positions and cache rows to the device; a paged cache first takes the
// blocks these positions need (and fails here, before anything runs, when the pool cannot serve them).
template <typename T>
void CudaModel<T>::stage_inputs(const int32_t* tokens, int n) {
    cache_->cover(n_past_ + n, stream_);
    host_q_offsets_[0] = 0;
    host_q_offsets_[1] = n;
    host_kv_len_ = n_past_ + n;
    act_->inputs.stage(tokens, n, n_past_, [this](int position) { return cache_->row_of(position); }, stream_);
}

template <typename T>
void CudaModel<T>::run_layers(int n, bool all_logits, int kv_len_bound) {
    const ModelConfig& c = config_;
    Activations& a = *act_;
    const int hidden = c.hidden_size, q_dim = c.q_dim(), kv_dim = c.kv_dim(), ffn = c.intermediate_size;
    embedding_lookup(weights_.embed.data(), a.inputs.tokens(n), n, hidden, a.x.data(), stream_);
    Workspace workspace{a.attention_workspace.data(), a.attention_workspace.bytes()};
    for (int layer = 0; layer < c.n_layers; ++layer) {
        const GpuLayerWeights<T>& w = weights_.layers[layer];
        normed_linear(cublas_, {a.x.data(), w.attn_norm.data(), c.rms_norm_eps, a.normed.data()}, n, hidden,
                      w.w_qkv.data(), q_dim + 2 * kv_dim, a.qkv.data());

        QkvRopeParams<T> rope;
        rope.n_tokens = n;
        rope.n_heads = c.n_heads;
        rope.n_kv_heads = c.n_kv_heads;
        rope.head_dim = c.head_dim;
        rope.bias = w.qkv_bias.size() ? w.qkv_bias.data() : nullptr;
        rope.q_norm = w.q_norm.size() ? w.q_norm.data() : nullptr;
        rope.k_norm = w.k_norm.size() ? w.k_norm.data() : nullptr;
        rope.eps = c.rms_norm_eps;
        rope.inv_freq = inv_freq_.data();
        rope.attention_factor = rope_attention_factor_;
        rope.positions = a.inputs.positions(n);
        rope.cache_rows = a.inputs.cache_rows();
        qkv_bias_norm_rope(rope, a.qkv.data(), a.q.data(), cache_->write_target(layer), stream_);

        AttentionParams params = attention_params(n, kv_len_bound);
        params.window = c.layer_window[layer];
        const AttentionBackend backend = n == 1 ? backends_.decode.backend : backends_.prefill.backend;
        KvCacheView kv = cache_->view(layer);
        // A chunk of several tokens attends its own keys and values as computed, not as the cache quantized them.
        if (n > 1) kv.attend_fresh_rows(a.qkv.data() + q_dim, a.qkv.data() + q_dim + kv_dim, q_dim + 2 * kv_dim);
        run_attention(backend, params, a.q.data(), kv, a.attn_out.data(), workspace, cublas_, stream_);

        linear(cublas_, a.attn_out.data(), n, q_dim, w.wo.data(), hidden, a.x.data(), 1.0f);
        if (w.o_bias.size()) add_bias(a.x.data(), w.o_bias.data(), n, hidden, stream_);
        normed_swiglu_linear(cublas_, {a.x.data(), w.mlp_norm.data(), c.rms_norm_eps, a.normed.data()}, n, hidden,
                             w.w_gate_up.data(), ffn, a.mlp_in.data(), a.gate_up.data());
        linear(cublas_, a.mlp_in.data(), n, ffn, w.w_down.data(), hidden, a.x.data(), 1.0f);
    }
    const int first = all_logits ? 0 : n - 1;
    a.logits_rows = n - first;
    const NormedInput<T> last_rows{a.x.data() + size_t(first) * hidden, weights_.final_norm.data(), c.rms_norm_eps,
                                   a.normed.data()};
    normed_linear(cublas_, last_rows, a.logits_rows, hidden, weights_.output_matrix(), c.vocab_size, a.logits.data());
}

template <typename T>
void CudaModel<T>::enqueue_sampling(const SamplingParams& sampling) {
    Activations& a = *act_;
    sample(a.logits.data() + size_t(a.logits_rows - 1) * config_.vocab_size, config_.vocab_size,
           a.recent_tokens.data(), int(a.recent_tokens.size()), sampling, a.sample_step.data(),
           a.sampling_workspace.data(), a.sampling_workspace.bytes(), a.sampled.data(), stream_);
}

// A decode step is captured once and replayed: kernels read the position, cache row and length from
// device memory, and attention is sized for the full context, so one graph serves every position.
template <typename T>
void CudaModel<T>::run_step(int n, bool all_logits, const SamplingParams* sampling) {
    const bool graph = n == 1 && !all_logits && options_.use_graphs && backend_allows_graphs(backends_.decode.backend);
    if (!graph) {
        run_layers(n, all_logits, n_past_ + n);
        if (sampling) enqueue_sampling(*sampling);
        return;
    }
    const bool same_graph = decode_graph_ && graph_samples_ == (sampling != nullptr) &&
                            (!sampling || std::memcmp(&graph_sampling_, sampling, sizeof *sampling) == 0);
    if (!same_graph) {
        if (decode_graph_) CUDA_CHECK(cudaGraphExecDestroy(decode_graph_));
        decode_graph_ = nullptr;
        cudaGraph_t captured;
        CUDA_CHECK(cudaStreamBeginCapture(stream_, cudaStreamCaptureModeThreadLocal));
        run_layers(1, false, cache_->capacity_tokens());
        if (sampling) enqueue_sampling(*sampling);
        CUDA_CHECK(cudaStreamEndCapture(stream_, &captured));
        CUDA_CHECK(cudaGraphInstantiate(&decode_graph_, captured, 0));
        CUDA_CHECK(cudaGraphDestroy(captured));
        graph_samples_ = sampling != nullptr;
        if (sampling) graph_sampling_ = *sampling;
    }
    CUDA_CHECK(cudaGraphLaunch(decode_graph_, stream_));
}

template <typename T>
void CudaModel<T>::check_tokens(const std::vector<int32_t>& tokens) const {
    const int n = int(tokens.size());
    if (n == 0) throw Error("forward() needs at least one token");
    if (n > options_.max_batch_tokens)
        throw Error("forward() of " + std::to_string(n) + " tokens exceeds the batch size " +
                    std::to_string(options_.max_batch_tokens) + " (-b/--batch-size)");
    if (n_past_ + n > context_size())
        throw Error("sequence of " + std::to_string(n_past_ + n) + " tokens exceeds the context size " +
                    std::to_string(context_size()) + " (raise -c/--ctx-size)");
    for (int32_t id : tokens)
        if (id < 0 || id >= config_.vocab_size)
            throw Error("token id " + std::to_string(id) + " is outside the vocabulary of " +
                        std::to_string(config_.vocab_size));
}

template <typename T>
void CudaModel<T>::forward(const std::vector<int32_t>& tokens, bool all_logits, std::vector<float>& logits) {
    check_tokens(tokens);
    stage_inputs(tokens.data(), int(tokens.size()));
    run_step(int(tokens.size()), all_logits, nullptr);
    n_past_ += int(tokens.size());
    logits.resize(size_t(act_->logits_rows) * config_.vocab_size);
    CUDA_CHECK(cudaMemcpyAsync(logits.data(), act_->logits.data(), logits.size() * sizeof(float), cudaMemcpyDeviceToHost,
                               stream_));
    CUDA_CHECK(cudaStreamSynchronize(stream_));
}

// The window is the last repeat_last_n tokens of the history (all of it for -1, up to the context),
// padded with -1 so its size, and so the captured graph, never changes.
template <typename T>
void CudaModel<T>::stage_recent_tokens(const SamplingParams& sampling, const std::vector<int32_t>& history) {
    size_t window = 0;
    if (sampling.repeat_penalty != 1.0f && sampling.repeat_last_n != 0)
        window = sampling.repeat_last_n < 0 ? size_t(context_size()) : size_t(sampling.repeat_last_n);
    if (act_->recent_tokens.size() != window) {
        act_->recent_tokens = DeviceBuffer<int32_t>(window, "sampler");
        act_->staged_recent = PinnedBuffer<int32_t>(window);
        if (decode_graph_) CUDA_CHECK(cudaGraphExecDestroy(decode_graph_));
        decode_graph_ = nullptr;
    }
    if (window == 0) return;
    int32_t* recent = act_->staged_recent.data();
    const size_t take = std::min(window, history.size());
    std::copy(history.end() - take, history.end(), recent);
    std::fill(recent + take, recent + window, -1);
    CUDA_CHECK(cudaMemcpyAsync(act_->recent_tokens.data(), recent, window * sizeof(int32_t), cudaMemcpyHostToDevice,
                               stream_));
}

template <typename T>
int32_t CudaModel<T>::forward_and_sample(const std::vector<int32_t>& tokens, Sampler& sampler,
                                      const std::vector<int32_t>& history) {
    check_tokens(tokens);
    if (n_past_ == 0)  // a new sequence: draws restart from the seed's first number
        CUDA_CHECK(cudaMemsetAsync(act_->sample_step.data(), 0, sizeof(uint64_t), stream_));
    stage_recent_tokens(sampler.params(), history);
    stage_inputs(tokens.data(), int(tokens.size()));
    run_step(int(tokens.size()), false, &sampler.params());
    n_past_ += int(tokens.size());
    int32_t token = 0;
    CUDA_CHECK(cudaMemcpyAsync(&token, act_->sampled.data(), sizeof token, cudaMemcpyDeviceToHost, stream_));
    CUDA_CHECK(cudaStreamSynchronize(stream_));
    return token;
}

template class CudaModel<__half>;
template class CudaModel<__nv_bfloat16>;

std::unique_ptr<Model> make_cuda_model(const ModelConfig& config, const TensorStore& store,
                                       const CudaModelOptions& options) {
    CUDA_CHECK(cudaSetDevice(options.device));
    cudaDeviceProp prop{};
    CUDA_CHECK(cudaGetDeviceProperties(&prop, options.device));
    const TensorInfo* embed = store.find("model.embed_tokens.weight");
    const bool checkpoint_bf16 = embed && embed->dtype == DType::BF16;
    const GpuDtypeChoice dtype = choose_gpu_dtype(options.dtype, checkpoint_bf16, prop.major * 10 + prop.minor,
                                                  select_kernel_path() == KernelPath::TensorCoreSm80);
    spdlog::info("gpu dtype: {}", dtype.reason);
    if (dtype.bf16) return std::make_unique<CudaModel<__nv_bfloat16>>(config, store, options);
    return std::make_unique<CudaModel<__half>>(config, store, options);
}

}  // namespace attn::cuda
