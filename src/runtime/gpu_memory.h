#pragma once
// What attn-infer holds of GPU memory (every device allocation goes through src/cuda/device_allocator.h)
// and what the card reports, for commands that measure memory. A build without CUDA holds nothing and
// reports no card.
#include <cstddef>

namespace attn {

struct GpuMemoryUse {
    size_t held_bytes = 0;  // our allocations now
    size_t peak_bytes = 0;  // the most held at once since reset_gpu_memory_peak()
    // cudaMemGetInfo of the current device: everything on the card, the CUDA context, cuBLAS's workspace and
    // captured graphs included, which our allocator does not see.
    size_t card_free_bytes = 0;
};

GpuMemoryUse gpu_memory_use();
void reset_gpu_memory_peak();

}  // namespace attn
