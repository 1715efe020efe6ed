#pragma once
// xformers-style memory-efficient attention backend: prefill by xformers_prefill.cu (SIMT on GPUs without
// tensor cores, mma where present); decode (one query per sequence) shares flash's split-K kernel.
#include <cstddef>

#include <cuda_fp16.h>
#include <cuda_runtime.h>

#include "kernels/cuda/attention.h"

namespace attn::cuda {

size_t attention_xformers_workspace_bytes(const AttentionParams& p);

// Throws attn::Error for shapes the kernel is not built for, naming a backend that can run them.
void attention_xformers(const AttentionParams& p, const __half* q, const KvCacheView& kv, __half* out,
                        const Workspace& workspace, cudaStream_t stream);

}  // namespace attn::cuda
