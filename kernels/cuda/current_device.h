#pragma once
// Properties of the current CUDA device that launch code sizes its grids by.
#include <cstddef>

namespace attn::cuda {

int current_multiprocessor_count();
int current_compute_capability();  // major * 10 + minor

// Blocks of `kernel` (threads each, with shared_bytes of dynamic shared memory) that fit one SM at once:
// registers and shared memory decide it. At least 1.
int resident_blocks_per_sm(const void* kernel, int threads, size_t shared_bytes = 0);

}  // namespace attn::cuda
