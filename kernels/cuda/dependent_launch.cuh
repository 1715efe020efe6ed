#pragma once
// Programmatic dependent launch (sm_90+): a kernel launched with launch_dependent() may start while the
// kernel before it in the stream is still running, so it can issue loads that do not depend on that kernel
// (weights) and hide the launch gap, then wait_for_previous_kernel() before touching anything the previous
// kernel writes or reads. A kernel lets its successor start early with allow_next_kernel(); without it, the
// successor starts when it ends. Both are no-ops in code built for older GPUs, and launch_dependent() then
// launches normally, so correctness never rests on them.
#include <cuda_runtime.h>

#include <utility>

#include "src/cuda/check.h"

namespace attn::cuda {

__device__ __forceinline__ void wait_for_previous_kernel() {
#if defined(__CUDA_ARCH__) && __CUDA_ARCH__ >= 900
    asm volatile("griddepcontrol.wait;" ::: "memory");
#endif
}

__device__ __forceinline__ void allow_next_kernel() {
#if defined(__CUDA_ARCH__) && __CUDA_ARCH__ >= 900
    asm volatile("griddepcontrol.launch_dependents;" ::: "memory");
#endif
}

// Whether `kernel` runs as sm_90+ code on this device (so it waits where it must) and dependent launch is
// not switched off (ATTN_INFER_DEPENDENT_LAUNCH=0, for measuring what it gains).
bool dependent_launch_applies(const void* kernel);

// kernel<<<grid, block, shared_bytes, stream>>>(args...), launched as a programmatic dependent of the previous
// kernel where dependent_launch_applies(). Every kernel launched so must call wait_for_previous_kernel() on
// every path before it reads or writes memory that other kernels touch.
template <typename... Params, typename... Args>
void launch_dependent(void (*kernel)(Params...), dim3 grid, dim3 block, size_t shared_bytes, cudaStream_t stream,
                      Args&&... args) {
    cudaLaunchConfig_t config{};
    config.gridDim = grid;
    config.blockDim = block;
    config.dynamicSmemBytes = shared_bytes;
    config.stream = stream;
    cudaLaunchAttribute attribute{};
    attribute.id = cudaLaunchAttributeProgrammaticStreamSerialization;
    attribute.val.programmaticStreamSerializationAllowed = 1;
    if (dependent_launch_applies(reinterpret_cast<const void*>(kernel))) {
        config.attrs = &attribute;
        config.numAttrs = 1;
    }
    CUDA_CHECK(cudaLaunchKernelEx(&config, kernel, std::forward<Args>(args)...));
}

}  // namespace attn::cuda
