#pragma once
// Aligned groups of kVec floats or 16-bit elements, so one thread moves 8 or 16 bytes per load/store, and the
// alignment test that decides whether a buffer may be read that way (else the kernels take kVec = 1).
#include <cstdint>

#include "kernels/cuda/element_type.cuh"

namespace attn::cuda {

template <int kVec>
struct alignas(4 * kVec) FloatVec {
    float v[kVec];
};

template <typename T, int kVec>
struct alignas(sizeof(T) * kVec) ElementVec {
    T v[kVec];
};

inline bool aligned(const void* pointer, uintptr_t bytes) {
    return reinterpret_cast<uintptr_t>(pointer) % bytes == 0;
}

}  // namespace attn::cuda
