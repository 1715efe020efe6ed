#pragma once
// The model's weights on the GPU in fp16, uploaded once. q/k/v are fused into one [q+2kv][hidden] matrix
// and gate/up into one [2·ffn][hidden], so each block runs two GEMMs fewer per layer.
#include <vector>

#include <cuda_fp16.h>

#include "src/cuda/device_allocator.h"
#include "src/loader/safetensors.h"
#include "src/model/config.h"

namespace attn::cuda {

struct GpuLayerWeights {
    DeviceBuffer<__half> attn_norm, w_qkv, qkv_bias, wo, o_bias, q_norm, k_norm, mlp_norm, w_gate_up, w_down;
};

struct GpuWeights {
    DeviceBuffer<__half> embed, lm_head, final_norm;  // lm_head empty when tied
    std::vector<GpuLayerWeights> layers;
    size_t bytes = 0;

    const __half* output_matrix() const { return lm_head.size() ? lm_head.data() : embed.data(); }
    // Converts F32/BF16 to fp16; a value outside fp16's range is an attn::Error naming the tensor.
    static GpuWeights upload(const ModelConfig& config, const TensorStore& store);
};

}  // namespace attn::cuda
