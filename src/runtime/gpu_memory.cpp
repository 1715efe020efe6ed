#include "src/runtime/gpu_memory.h"

#ifdef ATTN_HAS_CUDA
#include <cuda_runtime.h>

#include "src/cuda/check.h"
#include "src/cuda/device_allocator.h"
#endif

namespace attn {

GpuMemoryUse gpu_memory_use() {
    GpuMemoryUse use;
#ifdef ATTN_HAS_CUDA
    const auto& allocator = cuda::DeviceAllocator::instance();
    use.held_bytes = allocator.used_bytes();
    use.peak_bytes = allocator.peak_bytes();
    size_t card_total_bytes = 0;
    CUDA_CHECK(cudaMemGetInfo(&use.card_free_bytes, &card_total_bytes));
#endif
    return use;
}

void reset_gpu_memory_peak() {
#ifdef ATTN_HAS_CUDA
    cuda::DeviceAllocator::instance().reset_peak();
#endif
}

}  // namespace attn
