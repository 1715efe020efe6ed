#pragma once
// Token embedding gather: the first step of the forward pass, widening the fp16/bf16 table rows into the fp32
// residual stream.
#include <cstdint>

#include "kernels/cuda/element_type.cuh"
#include <cuda_runtime.h>

namespace attn::cuda {

// out[t][i] = float(table[ids[t]][i]) for n tokens; ids (device, [n]) must lie in [0, vocab): the caller
// checks them on the host, where it still has the tokenizer's output.
template <typename T>
void embedding_lookup(const T* table, const int32_t* ids, int n, int hidden, float* out, cudaStream_t stream);

}  // namespace attn::cuda
