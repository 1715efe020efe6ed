#include "src/cuda/gpu_weights.h"

#include <cmath>
#include <cstdio>

#include "models/architecture.h"
#include "src/common/error.h"
#include "src/cuda/check.h"

namespace attn::cuda {
namespace {

// Uploads several tensors back to back into one buffer (a fused matrix), converting to T on the host,
// and draws a progress bar on stderr for models big enough to take a while.
template <typename T>
class Uploader {
public:
    Uploader(const TensorStore& store, size_t total_bytes, bool values)
        : store_(store), values_(values), show_progress_(values && total_bytes > (300u << 20)) {
        total_ = total_bytes;
    }
    ~Uploader() {
        if (show_progress_) std::fprintf(stderr, "\n");
    }

    DeviceBuffer<T> upload(const std::vector<std::pair<std::string, std::vector<int64_t>>>& parts) {
        std::vector<const TensorInfo*> tensors;
        size_t count = 0;
        for (const auto& [name, shape] : parts) {
            tensors.push_back(&store_.get(name, shape));
            count += size_t(tensors.back()->element_count());
        }
        DeviceBuffer<T> buffer(count, "weights");
        if (!values_) return buffer;
        size_t offset = 0;
        for (const TensorInfo* tensor : tensors) {
            const std::vector<float> values = store_.to_f32(*tensor);
            std::vector<T> converted(values.size());
            for (size_t i = 0; i < values.size(); ++i) {
                if (!kIsBf16<T> && std::fabs(values[i]) > 65504.0f && std::isfinite(values[i]))
                    throw Error("tensor '" + tensor->name + "' holds " + std::to_string(values[i]) +
                                ", outside the fp16 range; run it in bf16 on an sm_80+ GPU (--dtype bf16) or use "
                                "--device cpu");
                converted[i] = from_float<T>(values[i]);
            }
            CUDA_CHECK(cudaMemcpy(buffer.data() + offset, converted.data(), converted.size() * sizeof(T),
                                  cudaMemcpyHostToDevice));
            offset += converted.size();
            done_ += tensor->size_bytes;
            draw();
        }
        return buffer;
    }

private:
    void draw() {
        if (!show_progress_) return;
        const int width = 40, filled = int(width * double(done_) / double(total_));
        std::fprintf(stderr, "\rloading weights [%s%s] %3d%%", std::string(filled, '#').c_str(),
                     std::string(width - filled, ' ').c_str(), int(100.0 * done_ / total_));
        std::fflush(stderr);
    }

    const TensorStore& store_;
    bool values_;
    bool show_progress_;
    size_t total_ = 0, done_ = 0;
};

}  // namespace

template <typename T>
GpuWeights<T> GpuWeights<T>::upload(const ModelConfig& c, const TensorStore& store, bool values) {
    const int64_t hidden = c.hidden_size, q_dim = c.q_dim(), kv_dim = c.kv_dim(), ffn = c.intermediate_size;
    Uploader<T> uploader(store, store.total_bytes(), values);
    GpuWeights<T> w;
    w.embed = uploader.upload({{"model.embed_tokens.weight", {c.vocab_size, hidden}}});
    w.final_norm = uploader.upload({{"model.norm.weight", {hidden}}});
    if (!c.tie_word_embeddings) w.lm_head = uploader.upload({{"lm_head.weight", {c.vocab_size, hidden}}});
    w.layers.resize(c.n_layers);
    for (int i = 0; i < c.n_layers; ++i) {
        auto name = [i](const char* suffix) { return layer_tensor(i, suffix); };
        GpuLayerWeights<T>& l = w.layers[i];
        l.attn_norm = uploader.upload({{name("input_layernorm.weight"), {hidden}}});
        l.w_qkv = uploader.upload({{name("self_attn.q_proj.weight"), {q_dim, hidden}},
                                   {name("self_attn.k_proj.weight"), {kv_dim, hidden}},
                                   {name("self_attn.v_proj.weight"), {kv_dim, hidden}}});
        if (c.qkv_bias)
            l.qkv_bias = uploader.upload({{name("self_attn.q_proj.bias"), {q_dim}},
                                          {name("self_attn.k_proj.bias"), {kv_dim}},
                                          {name("self_attn.v_proj.bias"), {kv_dim}}});
        l.wo = uploader.upload({{name("self_attn.o_proj.weight"), {hidden, q_dim}}});
        if (c.o_bias) l.o_bias = uploader.upload({{name("self_attn.o_proj.bias"), {hidden}}});
        if (c.qk_norm) {
            l.q_norm = uploader.upload({{name("self_attn.q_norm.weight"), {c.head_dim}}});
            l.k_norm = uploader.upload({{name("self_attn.k_norm.weight"), {c.head_dim}}});
        }
        l.mlp_norm = uploader.upload({{name("post_attention_layernorm.weight"), {hidden}}});
        l.w_gate_up = uploader.upload({{name("mlp.gate_proj.weight"), {ffn, hidden}},
                                       {name("mlp.up_proj.weight"), {ffn, hidden}}});
        l.w_down = uploader.upload({{name("mlp.down_proj.weight"), {hidden, ffn}}});
    }
    w.bytes = DeviceAllocator::instance().used_bytes();
    return w;
}

template struct GpuWeights<__half>;
template struct GpuWeights<__nv_bfloat16>;

}  // namespace attn::cuda
