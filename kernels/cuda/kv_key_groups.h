#pragma once
// q4 keys are encoded per channel over groups of 64 positions (kernels/cpu/kv_quant.h). After the QKV
// epilogue has written this call's rotated keys back into qkv, one thread per channel pair walks the groups
// the call touches in order: a group whose 64th position is in the call is encoded into its block (its
// earlier positions come from the pending buffer), the unfinished last group is copied into the pending
// buffer. Positions and rows are read on the device, so the launch is the same for every decode step.
#include <cuda_runtime.h>

#include "kernels/cuda/kv_cache_write.h"
#include "kernels/cuda/qkv_rope.h"

namespace attn::cuda {

// qkv: as qkv_bias_norm_rope leaves it (k columns rotated). The tokens are consecutive positions of one sequence.
template <typename T>
void store_q4_key_groups(const QkvRopeParams<T>& params, const float* qkv, const KvCacheWrite& cache,
                         cudaStream_t stream);

}  // namespace attn::cuda
