#pragma once
// Which (query block, head, sequence) each CTA of a tiled prefill kernel (flash, xformers) owns, and the grid
// that covers them. Causal attention without a window: query blocks vary slowest and start longest first
// across all heads, so the last wave holds the shortest blocks of every head (measured on the H100, flash:
// +23% at s = 4096 and +16% at s = 1024, head_dim 128). Otherwise heads vary slowest, which keeps the CTAs
// reading the same K/V in flight together (a 4096-key window ran 5% slower the other way).
#include <cuda_runtime.h>

#include "kernels/cuda/attention.h"

namespace attn::cuda {

__host__ __device__ inline bool prefill_blocks_slowest(const AttentionParams& p) { return p.causal && p.window == 0; }

inline dim3 prefill_grid(const AttentionParams& p, int block_rows) {
    const int blocks = (p.max_q_len + block_rows - 1) / block_rows;
    return prefill_blocks_slowest(p) ? dim3(p.n_heads, blocks, p.batch) : dim3(blocks, p.n_heads, p.batch);
}

struct PrefillBlock {
    int row0;  // first query row of the block within its sequence
    int head;
    int seq;
};

__device__ inline PrefillBlock prefill_block(const AttentionParams& p, int block_rows) {
    const bool slowest = prefill_blocks_slowest(p);
    const int index = slowest ? blockIdx.y : blockIdx.x, blocks = slowest ? gridDim.y : gridDim.x;
    // Causal: the last query blocks see the most keys; starting them first shortens the tail of the grid.
    const int block = p.causal ? blocks - 1 - index : index;
    return {block * block_rows, int(slowest ? blockIdx.x : blockIdx.y), int(blockIdx.z)};
}

}  // namespace attn::cuda
