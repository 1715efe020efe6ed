#pragma once
// The model's tensors converted to fp32 once at load (the CPU runtime computes in fp32), checked against
// the shapes the config implies.
#include <vector>

#include "src/loader/safetensors.h"
#include "src/model/config.h"

namespace attn {

struct CpuLayerWeights {
    std::vector<float> attn_norm, wq, wk, wv, wo, bq, bk, bv, bo, q_norm, k_norm;
    std::vector<float> mlp_norm, w_gate, w_up, w_down;
};

struct CpuWeights {
    std::vector<float> embed;    // [vocab][hidden]
    std::vector<float> lm_head;  // empty when tied to embed
    std::vector<float> final_norm;
    std::vector<CpuLayerWeights> layers;

    const float* output_matrix() const { return lm_head.empty() ? embed.data() : lm_head.data(); }
    static CpuWeights load(const ModelConfig& config, const TensorStore& store);
};

}  // namespace attn
