#pragma once
// The GPU encoders of kernels/cpu/kv_quant.h for one row held by a warp (lane l holds x[j] = element 32j + l,
// head_dim a multiple of 32): a q8 group of 32 elements is one x[j] across the warp, so its scale is one warp
// reduction, as is a q4 value row's after each lane's own pass. Same arithmetic as the CPU (scale rounded to
// fp16 first, codes rint(x · (1/d))), so codes match the CPU's for the same input; q4 keys are encoded per
// channel by kv_key_groups.cu.
#include <cstdint>

#include <cuda_fp16.h>

#include "kernels/cuda/kv_hadamard.cuh"

namespace attn::cuda {

template <int kPerLane>
__device__ __forceinline__ void store_q8_row(const float (&x)[kPerLane], int head_dim, int8_t* codes, __half* scales) {
    const int lane = threadIdx.x % 32;
#pragma unroll
    for (int j = 0; j < kPerLane; ++j) {
        if (32 * j >= head_dim) break;
        float amax = fabsf(x[j]);
#pragma unroll
        for (int offset = 16; offset > 0; offset /= 2) amax = fmaxf(amax, __shfl_xor_sync(0xffffffffu, amax, offset));
        const __half d = __float2half_rn(amax / 127.0f);
        const float d_value = __half2float(d);
        const float inv = d_value > 0.0f ? 1.0f / d_value : 0.0f;
        codes[32 * j + lane] = int8_t(fminf(fmaxf(rintf(x[j] * inv), -127.0f), 127.0f));
        if (lane == 0) scales[j] = d;
    }
}

// Rotates the row (kv_hadamard.cuh), then d = e/-8 for the row's element e of largest magnitude (the first
// such element, as the CPU's scan picks it) and 4-bit codes c = rint(x/d) + 8.
template <int kPerLane>
__device__ __forceinline__ void store_q4_value_row(float (&x)[kPerLane], int head_dim, uint8_t* codes,
                                                   __half* scale) {
    const int lane = threadIdx.x % 32;
    warp_hadamard_rotate(x, head_dim);
    float magnitude = 0.0f, extreme = 0.0f;
    int index = head_dim;
#pragma unroll
    for (int j = 0; j < kPerLane; ++j)
        if (32 * j < head_dim && fabsf(x[j]) > magnitude) magnitude = fabsf(x[j]), extreme = x[j], index = 32 * j + lane;
#pragma unroll
    for (int offset = 16; offset > 0; offset /= 2) {
        const float other_magnitude = __shfl_xor_sync(0xffffffffu, magnitude, offset);
        const float other_extreme = __shfl_xor_sync(0xffffffffu, extreme, offset);
        const int other_index = __shfl_xor_sync(0xffffffffu, index, offset);
        if (other_magnitude > magnitude || (other_magnitude == magnitude && other_index < index)) {
            magnitude = other_magnitude;
            extreme = other_extreme;
            index = other_index;
        }
    }
    // A zero row keeps the CPU's +0 start: the scale's sign bit must agree.
    const __half d = __float2half_rn(extreme / -8.0f);
    const float d_value = __half2float(d);
    const float inv = d_value != 0.0f ? 1.0f / d_value : 0.0f;
#pragma unroll
    for (int j = 0; j < kPerLane; ++j) {
        if (32 * j >= head_dim) break;
        const int code = int(fminf(fmaxf(rintf(x[j] * inv) + 8.0f, 0.0f), 15.0f));
        const int odd = __shfl_down_sync(0xffffffffu, code, 1);
        if (lane % 2 == 0) codes[(32 * j + lane) / 2] = uint8_t(code | odd << 4);
    }
    if (lane == 0) *scale = d;
}

}  // namespace attn::cuda
