#pragma once
// The 16-bit element types of weights, activations and the fp16-format KV cache: fp16 on every GPU, and
// bf16 on sm_80+ for bf16 checkpoints (fp32's exponent range, so their weights need no range check).
// Kernels are templates on T and reach both types through these conversions; they accumulate in fp32.
// Host code may include this header too: it only names the types.
#include <cstdint>
#include <type_traits>

#include <cuda_bf16.h>
#include <cuda_fp16.h>
#include <library_types.h>

namespace attn::cuda {

template <typename T>
struct ElementTraits;

template <>
struct ElementTraits<__half> {
    using Pair = __half2;
    static constexpr const char* kName = "fp16";
    static constexpr cudaDataType_t kCublasType = CUDA_R_16F;
};

template <>
struct ElementTraits<__nv_bfloat16> {
    using Pair = __nv_bfloat162;
    static constexpr const char* kName = "bf16";
    static constexpr cudaDataType_t kCublasType = CUDA_R_16BF;
};

template <typename T>
using ElementPair = typename ElementTraits<T>::Pair;

template <typename T>
constexpr bool kIsBf16 = std::is_same_v<T, __nv_bfloat16>;

__host__ __device__ __forceinline__ float to_float(__half x) { return __half2float(x); }
__host__ __device__ __forceinline__ float to_float(__nv_bfloat16 x) { return __bfloat162float(x); }

template <typename T>
__host__ __device__ __forceinline__ T from_float(float x);
template <>
__host__ __device__ __forceinline__ __half from_float<__half>(float x) { return __float2half_rn(x); }
template <>
__host__ __device__ __forceinline__ __nv_bfloat16 from_float<__nv_bfloat16>(float x) { return __float2bfloat16_rn(x); }

#ifdef __CUDACC__
__device__ __forceinline__ float2 to_float2(__half2 x) { return __half22float2(x); }
// Element-wise, not __bfloat1622float2: CUDA 11.8 declares that one for sm_80+ only, and bf16 data also
// passes through the kernels built for older GPUs (which convert, never compute, in bf16).
__device__ __forceinline__ float2 to_float2(__nv_bfloat162 x) {
    return make_float2(__bfloat162float(x.x), __bfloat162float(x.y));
}

template <typename T>
__device__ __forceinline__ ElementPair<T> pair_from_floats(float low, float high);
template <>
__device__ __forceinline__ __half2 pair_from_floats<__half>(float low, float high) { return __floats2half2_rn(low, high); }
template <>
__device__ __forceinline__ __nv_bfloat162 pair_from_floats<__nv_bfloat16>(float low, float high) {
    return __floats2bfloat162_rn(low, high);
}

// Two fp32 values as one 32-bit register of T pairs (the lower column in the low half): an mma A fragment.
template <typename T>
__device__ __forceinline__ uint32_t pack_pair(float low, float high) {
    const ElementPair<T> pair = pair_from_floats<T>(low, high);
    return *reinterpret_cast<const uint32_t*>(&pair);
}

// Eight consecutive elements (one 16-byte load) widened to fp32.
template <typename T>
__device__ __forceinline__ void unpack8(const uint4& raw, float (&x)[8]) {
    const ElementPair<T>* pairs = reinterpret_cast<const ElementPair<T>*>(&raw);
#pragma unroll
    for (int i = 0; i < 4; ++i) {
        const float2 f = to_float2(pairs[i]);
        x[2 * i] = f.x;
        x[2 * i + 1] = f.y;
    }
}
#endif

}  // namespace attn::cuda
