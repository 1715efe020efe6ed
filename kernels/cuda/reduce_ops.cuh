#pragma once
// Reduction operators for cub block reductions. Spelled out rather than taken from <cuda/functional>,
// which CUDA 11.8 (the toolkit for sm_60 builds) does not ship.
namespace attn::cuda {

struct FloatMax {
    __device__ __forceinline__ float operator()(float a, float b) const { return fmaxf(a, b); }
};

}  // namespace attn::cuda
