// One head size of the flash prefill kernel per file: the sizes compile in parallel.
#include "kernels/cuda/flash/flash_prefill.cuh"

namespace attn::cuda {
template void launch_flash_prefill<256>(const AttentionKernelArgs&, KernelPath, cudaStream_t);
}
