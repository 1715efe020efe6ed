#pragma once
// The q4 value rotation of kernels/cpu/kv_quant.h on one row spread over a warp: lane l holds elements
// 32j + l (x[j], j < head_dim / 32; head_dim a multiple of 32, as q4 requires). Butterflies of stride < 32
// are warp shuffles, wider ones swap registers. The stages run in the CPU's order with the same sums, so the
// result is bit-identical to cpu::hadamard_rotate / hadamard_unrotate.
#include <cuda_runtime.h>

#include "kernels/cpu/kv_quant.h"

namespace attn::cuda {

__device__ __forceinline__ float hadamard_sign(int element) {
    return (cpu::kHadamardSigns >> (element % 64)) & 1 ? -1.0f : 1.0f;
}

// Unnormalised Walsh-Hadamard transform over blocks of n = the largest power of two dividing head_dim.
template <int kPerLane>
__device__ __forceinline__ void warp_walsh_hadamard(float (&x)[kPerLane], int head_dim) {
    const int n = head_dim & -head_dim;
    const int lane = threadIdx.x % 32;
#pragma unroll
    for (int stride = 1; stride < 32; stride *= 2) {
        if (stride >= n) break;
        const bool upper = lane & stride;
#pragma unroll
        for (int j = 0; j < kPerLane; ++j) {
            const float other = __shfl_xor_sync(0xffffffffu, x[j], stride);
            x[j] = upper ? other - x[j] : x[j] + other;
        }
    }
#pragma unroll
    for (int step = 1; step < kPerLane; step *= 2) {  // stride 32·step: elements x[j] and x[j + step]
        if (32 * step >= n) break;
#pragma unroll
        for (int j = 0; j < kPerLane; ++j)
            if ((j & step) == 0 && j + step < kPerLane) {
                const float a = x[j], b = x[j + step];
                x[j] = a + b;
                x[j + step] = a - b;
            }
    }
}

// Signs, transform, 1/sqrt(n): what the write path applies to a value row before quantising it.
template <int kPerLane>
__device__ __forceinline__ void warp_hadamard_rotate(float (&x)[kPerLane], int head_dim) {
    const int lane = threadIdx.x % 32;
#pragma unroll
    for (int j = 0; j < kPerLane; ++j) x[j] *= hadamard_sign(32 * j + lane);
    warp_walsh_hadamard(x, head_dim);
    const float norm = 1.0f / sqrtf(float(head_dim & -head_dim));
#pragma unroll
    for (int j = 0; j < kPerLane; ++j) x[j] *= norm;
}

// Its inverse, for decoded value rows or for attention outputs accumulated in the rotated basis.
template <int kPerLane>
__device__ __forceinline__ void warp_hadamard_unrotate(float (&x)[kPerLane], int head_dim) {
    const int lane = threadIdx.x % 32;
    warp_walsh_hadamard(x, head_dim);
    const float norm = 1.0f / sqrtf(float(head_dim & -head_dim));
#pragma unroll
    for (int j = 0; j < kPerLane; ++j) x[j] *= norm * hadamard_sign(32 * j + lane);
}

}  // namespace attn::cuda
