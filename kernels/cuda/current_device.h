#pragma once
// Properties of the current CUDA device that launch code sizes its grids by.
namespace attn::cuda {

int current_multiprocessor_count();
int current_compute_capability();  // major * 10 + minor

// Blocks of `kernel` (threads each, no dynamic shared memory) that fit one SM at once: registers and
// shared memory decide it. At least 1.
int resident_blocks_per_sm(const void* kernel, int threads);

}  // namespace attn::cuda
