#pragma once
// Host side of the memory-efficient (xformers) prefill kernel; all head sizes are instantiated in
// xformers_prefill.cu.
#include <cuda_runtime.h>

#include "kernels/cuda/flash/attention_kernel_args.cuh"
#include "kernels/cuda/flash/kernel_path.h"

namespace attn::cuda {

template <typename T>
void launch_xformers_prefill(const AttentionKernelArgs<T>& args, KernelPath path, cudaStream_t stream);

}  // namespace attn::cuda
