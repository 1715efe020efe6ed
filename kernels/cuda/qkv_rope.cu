// Fused QKV epilogue: block (t, g) first tabulates cos/sin of token t's position in shared memory, then
// each of its 8 warps takes one head of t: lane l holds the rotate_half pairs (i, i + head_dim/2) for
// i = l, l+32, ..., adds the bias, RMS-normalises (warp shuffle sum) and rotates in fp32. head_dim even, <= 256.
#include "kernels/cuda/qkv_rope.h"

#include <string>

#include "src/common/error.h"
#include "src/cuda/check.h"

namespace attn::cuda {
namespace {

constexpr int kWarpSize = 32;
constexpr int kWarpsPerBlock = 8;
constexpr int kMaxHeadDim = 256;
constexpr int kMaxPairsPerLane = kMaxHeadDim / 2 / kWarpSize;

__device__ float warp_sum(float value) {
#pragma unroll
    for (int offset = kWarpSize / 2; offset > 0; offset /= 2) value += __shfl_xor_sync(0xffffffffu, value, offset);
    return value;
}

template <typename T>
__global__ void qkv_rope_kernel(QkvRopeParams<T> p, const float* __restrict__ qkv, T* __restrict__ q_out,
                                T* __restrict__ k_cache, T* __restrict__ v_cache) {
    __shared__ float cos_table[kMaxHeadDim / 2];
    __shared__ float sin_table[kMaxHeadDim / 2];
    const int t = blockIdx.x;
    const int half_dim = p.head_dim / 2;
    const int position = p.positions[t];
    for (int i = threadIdx.x; i < half_dim; i += blockDim.x) {
        const float angle = float(position) * p.inv_freq[i];  // fp32 product, as transformers
        float s, c;
        sincosf(angle, &s, &c);
        cos_table[i] = c * p.attention_factor;
        sin_table[i] = s * p.attention_factor;
    }
    __syncthreads();

    // Heads are numbered as their columns in qkv: q heads, then k heads, then v heads.
    const int head = blockIdx.y * kWarpsPerBlock + threadIdx.x / kWarpSize;
    const int lane = threadIdx.x % kWarpSize;
    const int n_q = p.n_heads, n_kv = p.n_kv_heads;
    if (head >= n_q + 2 * n_kv) return;  // whole warps leave together: the shuffles below stay full-warp
    const bool is_q = head < n_q, is_k = !is_q && head < n_q + n_kv;
    const int column = head * p.head_dim;
    const float* src = qkv + int64_t(t) * (n_q + 2 * n_kv) * p.head_dim + column;

    float a[kMaxPairsPerLane], b[kMaxPairsPerLane];  // a: element i, b: element i + half_dim
#pragma unroll
    for (int j = 0; j < kMaxPairsPerLane; ++j) {
        const int i = lane + j * kWarpSize;
        a[j] = b[j] = 0.0f;
        if (i < half_dim) {
            a[j] = src[i];
            b[j] = src[i + half_dim];
            if (p.bias) {
                a[j] += to_float(p.bias[column + i]);
                b[j] += to_float(p.bias[column + i + half_dim]);
            }
        }
    }

    const T* norm = is_q ? p.q_norm : is_k ? p.k_norm : nullptr;
    if (norm) {
        float sum_sq = 0.0f;
#pragma unroll
        for (int j = 0; j < kMaxPairsPerLane; ++j) sum_sq += a[j] * a[j] + b[j] * b[j];
        const float inv_rms = 1.0f / sqrtf(warp_sum(sum_sq) / float(p.head_dim) + p.eps);
#pragma unroll
        for (int j = 0; j < kMaxPairsPerLane; ++j) {
            const int i = lane + j * kWarpSize;
            if (i < half_dim) {
                a[j] = to_float(norm[i]) * (a[j] * inv_rms);
                b[j] = to_float(norm[i + half_dim]) * (b[j] * inv_rms);
            }
        }
    }

    if (is_q || is_k) {
#pragma unroll
        for (int j = 0; j < kMaxPairsPerLane; ++j) {
            const int i = lane + j * kWarpSize;
            if (i < half_dim) {
                const float rotated_a = a[j] * cos_table[i] - b[j] * sin_table[i];
                b[j] = b[j] * cos_table[i] + a[j] * sin_table[i];
                a[j] = rotated_a;
            }
        }
    }

    const int64_t kv_dim = int64_t(n_kv) * p.head_dim;
    T* dst = is_q   ? q_out + (int64_t(t) * n_q + head) * p.head_dim
                  : is_k ? k_cache + p.cache_rows[t] * kv_dim + (head - n_q) * p.head_dim
                         : v_cache + p.cache_rows[t] * kv_dim + (head - n_q - n_kv) * p.head_dim;
#pragma unroll
    for (int j = 0; j < kMaxPairsPerLane; ++j) {
        const int i = lane + j * kWarpSize;
        if (i < half_dim) {
            dst[i] = from_float<T>(a[j]);
            dst[i + half_dim] = from_float<T>(b[j]);
        }
    }
}

}  // namespace

template <typename T>
void qkv_bias_norm_rope(const QkvRopeParams<T>& params, const float* qkv, T* q_out, T* k_cache, T* v_cache,
                        cudaStream_t stream) {
    if (params.head_dim <= 0 || params.head_dim % 2 != 0 || params.head_dim > kMaxHeadDim)
        throw Error("head_dim " + std::to_string(params.head_dim) +
                    " is not supported by the CUDA QKV/RoPE kernel (it needs an even head_dim of at most " +
                    std::to_string(kMaxHeadDim) + "); run this model on the CPU backend");
    if (params.n_tokens == 0) return;
    const int heads = params.n_heads + 2 * params.n_kv_heads;
    const dim3 grid(params.n_tokens, (heads + kWarpsPerBlock - 1) / kWarpsPerBlock);
    qkv_rope_kernel<<<grid, kWarpsPerBlock * kWarpSize, 0, stream>>>(params, qkv, q_out, k_cache, v_cache);
    CUDA_CHECK_LAUNCH();
}

template void qkv_bias_norm_rope(const QkvRopeParams<__half>&, const float*, __half*, __half*, __half*, cudaStream_t);
template void qkv_bias_norm_rope(const QkvRopeParams<__nv_bfloat16>&, const float*, __nv_bfloat16*, __nv_bfloat16*,
                                 __nv_bfloat16*, cudaStream_t);

}  // namespace attn::cuda
