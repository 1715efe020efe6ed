#pragma once
// Properties of the current CUDA device that launch code sizes its grids by.
namespace attn::cuda {

int current_multiprocessor_count();
int current_compute_capability();  // major * 10 + minor

}  // namespace attn::cuda
