#pragma once
// Checks that the flash and xformers kernels share: shapes they are built for and the 16-byte alignment
// their vector loads need. Each failure is an attn::Error that names a backend that can run the shape.
#include "kernels/cuda/attention.h"

namespace attn::cuda {

void validate_tiled_attention_inputs(const AttentionParams& p, const void* q, const KvCacheView& kv, const void* out,
                                     const char* backend);

}  // namespace attn::cuda
