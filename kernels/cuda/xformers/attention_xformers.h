#pragma once
// xformers-style memory-efficient attention backend: prefill by xformers_prefill.cu (SIMT on GPUs without
// tensor cores, mma where present); decode (one query per sequence) shares flash's split-K kernel.
#include <cstddef>

#include <cuda_runtime.h>

#include "kernels/cuda/attention.h"

namespace attn::cuda {

size_t attention_xformers_workspace_bytes(const AttentionParams& p);

// Throws attn::Error for shapes the kernel is not built for, naming a backend that can run them.
// T = __half, or __nv_bfloat16 on the sm80 kernel path.
template <typename T>
void attention_xformers(const AttentionParams& p, const T* q, const KvCacheView& kv, T* out, const Workspace& workspace,
                        cudaStream_t stream);

}  // namespace attn::cuda
