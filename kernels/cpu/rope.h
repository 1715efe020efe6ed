#pragma once
// Rotary position embedding as transformers applies it: the "rotate_half" pairing (i, i + d/2), angle
// position·inv_freq[i] in fp32, cos/sin scaled by the RoPE type's attention factor (yarn). The inverse
// frequencies carry every scaling type (linear, llama3, yarn) so kernels only ever see a table.
#include <vector>

#include "src/model/config.h"

namespace attn::cpu {

struct RopeTable {
    std::vector<float> inv_freq;  // head_dim / 2 entries
    float attention_factor = 1.0f;

    static RopeTable build(const RopeConfig& rope, int head_dim);
};

// Rotates x[t][h][0..head_dim) in place for n tokens at positions[t].
void apply_rope(const RopeTable& table, float* x, int n, int n_heads, int head_dim, const int* positions);

}  // namespace attn::cpu
