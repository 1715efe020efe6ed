#pragma once
// Checks that the flash and xformers kernels share: shapes they are built for and the 16-byte alignment
// their vector loads need. Each failure is an attn::Error that names a backend that can run the shape.
#include <cuda_fp16.h>

#include "kernels/cuda/attention.h"

namespace attn::cuda {

void validate_tiled_attention_inputs(const AttentionParams& p, const __half* q, const KvCacheView& kv,
                                     const __half* out, const char* backend);

}  // namespace attn::cuda
