#pragma once
// y[n][out] = x[n][in] · w[out][in]ᵀ (+ bias[out]) in fp32 — the layout of a torch Linear weight.
// Reference for the cuBLAS projections and the CPU runtime's workhorse.
#include "src/runtime/thread_pool.h"

namespace attn::cpu {

void matmul(const float* x, int n, int in, const float* w, int out, const float* bias, float* y, ThreadPool& pool);

}  // namespace attn::cpu
