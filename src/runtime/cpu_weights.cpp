#include "src/runtime/cpu_weights.h"

#include "models/architecture.h"

namespace attn {

CpuWeights CpuWeights::load(const ModelConfig& c, const TensorStore& store) {
    const int64_t hidden = c.hidden_size, q_dim = c.q_dim(), kv_dim = c.kv_dim(), ffn = c.intermediate_size;
    auto fetch = [&](const std::string& name, std::vector<int64_t> shape) {
        return store.to_f32(store.get(name, shape));
    };
    CpuWeights w;
    w.embed = fetch("model.embed_tokens.weight", {c.vocab_size, hidden});
    w.final_norm = fetch("model.norm.weight", {hidden});
    if (!c.tie_word_embeddings) w.lm_head = fetch("lm_head.weight", {c.vocab_size, hidden});
    w.layers.resize(c.n_layers);
    for (int i = 0; i < c.n_layers; ++i) {
        CpuLayerWeights& l = w.layers[i];
        auto layer = [&](const char* suffix, std::vector<int64_t> shape) { return fetch(layer_tensor(i, suffix), shape); };
        l.attn_norm = layer("input_layernorm.weight", {hidden});
        l.wq = layer("self_attn.q_proj.weight", {q_dim, hidden});
        l.wk = layer("self_attn.k_proj.weight", {kv_dim, hidden});
        l.wv = layer("self_attn.v_proj.weight", {kv_dim, hidden});
        l.wo = layer("self_attn.o_proj.weight", {hidden, q_dim});
        if (c.qkv_bias) {
            l.bq = layer("self_attn.q_proj.bias", {q_dim});
            l.bk = layer("self_attn.k_proj.bias", {kv_dim});
            l.bv = layer("self_attn.v_proj.bias", {kv_dim});
        }
        if (c.o_bias) l.bo = layer("self_attn.o_proj.bias", {hidden});
        if (c.qk_norm) {
            l.q_norm = layer("self_attn.q_norm.weight", {c.head_dim});
            l.k_norm = layer("self_attn.k_norm.weight", {c.head_dim});
        }
        l.mlp_norm = layer("post_attention_layernorm.weight", {hidden});
        l.w_gate = layer("mlp.gate_proj.weight", {ffn, hidden});
        l.w_up = layer("mlp.up_proj.weight", {ffn, hidden});
        l.w_down = layer("mlp.down_proj.weight", {hidden, ffn});
    }
    return w;
}

}  // namespace attn
