#pragma once
// Split-K "flash-decoding" for batches where every sequence has exactly one query (decode steps). The flash
// and xformers backends both use it: with one query per sequence there is no tiling left to differ in.
#include <cstddef>

#include <cuda_runtime.h>

#include "kernels/cuda/attention.h"
#include "kernels/cuda/flash/attention_kernel_args.cuh"

namespace attn::cuda {

inline bool is_decode_batch(const AttentionParams& p) { return p.max_q_len == 1 && p.total_q == p.batch; }

size_t flash_decode_workspace_bytes(const AttentionParams& p);

// Throws attn::Error when the workspace is smaller than flash_decode_workspace_bytes(p).
template <typename T>
void flash_decode(const AttentionParams& p, const AttentionKernelArgs<T>& args, const Workspace& workspace,
                  cudaStream_t stream);

}  // namespace attn::cuda
