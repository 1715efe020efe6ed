#pragma once
// Host side of the FlashAttention-2 prefill kernel: one launch function per head size, instantiated in
// flash_prefill_hd<D>.cu.
#include <cuda_runtime.h>

#include "kernels/cuda/flash/attention_kernel_args.cuh"
#include "kernels/cuda/flash/kernel_path.h"

namespace attn::cuda {

template <typename T, int HeadDim>
void launch_flash_prefill(const AttentionKernelArgs<T>& args, KernelPath path, cudaStream_t stream);

}  // namespace attn::cuda
