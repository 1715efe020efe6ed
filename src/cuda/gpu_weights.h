#pragma once
// The model's weights on the GPU as T (fp16, or bf16 for a bf16 checkpoint on sm_80+), uploaded once. q/k/v
// are fused into one [q+2kv][hidden] matrix and gate/up into one [2·ffn][hidden], so each block runs two
// GEMMs fewer per layer.
#include <vector>

#include "kernels/cuda/element_type.cuh"
#include "src/cuda/device_allocator.h"
#include "src/loader/safetensors.h"
#include "src/model/config.h"

namespace attn::cuda {

template <typename T>
struct GpuLayerWeights {
    DeviceBuffer<T> attn_norm, w_qkv, qkv_bias, wo, o_bias, q_norm, k_norm, mlp_norm, w_gate_up, w_down;
};

template <typename T>
struct GpuWeights {
    DeviceBuffer<T> embed, lm_head, final_norm;  // lm_head empty when tied
    std::vector<GpuLayerWeights<T>> layers;
    size_t bytes = 0;

    const T* output_matrix() const { return lm_head.size() ? lm_head.data() : embed.data(); }
    // Converts every tensor to T; for fp16, a value outside its range is an attn::Error naming the tensor.
    // Without `values`, only allocates (shapes still checked): what a memory probe needs, in no time.
    static GpuWeights upload(const ModelConfig& config, const TensorStore& store, bool values = true);
};

}  // namespace attn::cuda
