// One head size of the flash prefill kernel per file: the sizes compile in parallel.
#include "kernels/cuda/flash/flash_prefill.cuh"

namespace attn::cuda {
template void launch_flash_prefill<__half, 256>(const AttentionKernelArgs<__half>&, KernelPath, cudaStream_t);
template void launch_flash_prefill<__nv_bfloat16, 256>(const AttentionKernelArgs<__nv_bfloat16>&, KernelPath,
                                                       cudaStream_t);
}
