// Fused QKV epilogue: block (t, g) first tabulates cos/sin of token t's position in shared memory, then
// each of its 8 warps takes one head of t: lane l holds the rotate_half pairs (i, i + head_dim/2) for
// i = l, l+32, ..., adds the bias, RMS-normalises (warp shuffle sum) and rotates in fp32. head_dim even, <= 256.
// q8/q4 rows go through shared memory to the layout the encoders want (lane l: elements 32j + l).
#include "kernels/cuda/qkv_rope.h"

#include <string>

#include "kernels/cuda/dependent_launch.cuh"
#include "kernels/cuda/kv_key_groups.h"
#include "kernels/cuda/kv_store.cuh"
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

// Start of the K (or V) row of cache row `row`, kv head `kv_head`, and of its row scales.
__device__ uint8_t* cache_row_codes(const KvCacheWrite& cache, bool is_value, int64_t row, int kv_head) {
    const int block_tokens = cache.layout.block_tokens;
    return cache.blocks + row / block_tokens * cache.block_stride_bytes +
           cache.layout.codes_offset(is_value, int(row % block_tokens), kv_head);
}
__device__ __half* cache_row_scales(const KvCacheWrite& cache, bool is_value, int64_t row, int kv_head) {
    const int block_tokens = cache.layout.block_tokens;
    return reinterpret_cast<__half*>(cache.blocks + row / block_tokens * cache.block_stride_bytes +
                                     cache.layout.row_scales_offset(is_value, int(row % block_tokens), kv_head));
}

template <typename T>
__global__ void qkv_rope_kernel(QkvRopeParams<T> p, float* __restrict__ qkv, T* __restrict__ q_out,
                                KvCacheWrite cache) {
    wait_for_previous_kernel();  // launched early only to hide the launch: everything it reads is produced before
    allow_next_kernel();
    __shared__ float cos_table[kMaxHeadDim / 2];
    __shared__ float sin_table[kMaxHeadDim / 2];
    __shared__ float row_stage[kWarpsPerBlock][kMaxHeadDim];
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
    float* src = qkv + int64_t(t) * (n_q + 2 * n_kv) * p.head_dim + column;

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

    // Where the row goes: q, 16-bit (T) cache rows, q4 keys back into qkv (kv_key_groups.cu encodes them), or the
    // q8/q4 encoders and back into qkv.
    const cpu::KvFormat format = cache.layout.format;
    const bool is_v = !is_q && !is_k;
    const int kv_head = is_k ? head - n_q : head - n_q - n_kv;
    if (is_q || format == cpu::KvFormat::F16) {
        T* dst = is_q ? q_out + (int64_t(t) * n_q + head) * p.head_dim
                      : reinterpret_cast<T*>(cache_row_codes(cache, is_v, p.cache_rows[t], kv_head));
#pragma unroll
        for (int j = 0; j < kMaxPairsPerLane; ++j) {
            const int i = lane + j * kWarpSize;
            if (i < half_dim) {
                dst[i] = from_float<T>(a[j]);
                dst[i + half_dim] = from_float<T>(b[j]);
            }
        }
        return;
    }
    if (is_k && cache.layout.keys_by_channel()) {
#pragma unroll
        for (int j = 0; j < kMaxPairsPerLane; ++j) {
            const int i = lane + j * kWarpSize;
            if (i < half_dim) {
                src[i] = a[j];
                src[i + half_dim] = b[j];
            }
        }
        return;
    }
    float* stage = row_stage[threadIdx.x / kWarpSize];
#pragma unroll
    for (int j = 0; j < kMaxPairsPerLane; ++j) {
        const int i = lane + j * kWarpSize;
        if (i < half_dim) {
            stage[i] = a[j];
            stage[i + half_dim] = b[j];
        }
    }
    __syncwarp();
    float x[kMaxHeadDim / kWarpSize];
#pragma unroll
    for (int j = 0; j < kMaxHeadDim / kWarpSize; ++j) x[j] = 32 * j < p.head_dim ? stage[32 * j + lane] : 0.0f;
    const int64_t row = p.cache_rows[t];
    uint8_t* codes = cache_row_codes(cache, is_v, row, kv_head);
    __half* scales = cache_row_scales(cache, is_v, row, kv_head);
    const auto store_exact = [&](float* row) {
#pragma unroll
        for (int j = 0; j < kMaxHeadDim / kWarpSize; ++j)
            if (32 * j < p.head_dim) row[32 * j + lane] = x[j];
    };
    if (format == cpu::KvFormat::Q8) {
        store_q8_row(x, p.head_dim, reinterpret_cast<int8_t*>(codes), scales);
    } else {
        store_q4_value_row(x, p.head_dim, codes, scales);  // rotates x
        // The values of the sequence's unfinished group are also kept exact (rotated, as attention reads
        // them): those of the positions from the group of the call's last position on, unless it ends it.
        if (position >= cpu::kv_pending_first(p.positions[p.n_tokens - 1] + 1))
            store_exact(cache.pending_values + (int64_t(position % cpu::kQ4KeyGroup) * n_kv + kv_head) * p.head_dim);
    }
    store_exact(src);  // back over qkv, where attention reads the call's own rows exact (attention.h: fresh rows)
}

}  // namespace

template <typename T>
void qkv_bias_norm_rope(const QkvRopeParams<T>& params, float* qkv, T* q_out, const KvCacheWrite& cache,
                        cudaStream_t stream) {
    if (params.head_dim <= 0 || params.head_dim % 2 != 0 || params.head_dim > kMaxHeadDim)
        throw Error("head_dim " + std::to_string(params.head_dim) +
                    " is not supported by the CUDA QKV/RoPE kernel (it needs an even head_dim of at most " +
                    std::to_string(kMaxHeadDim) + "); run this model on the CPU backend");
    if (cache.layout.format == cpu::KvFormat::F32)
        throw Error("the CUDA KV cache holds fp16, q8 or q4 rows, not f32; use --kv-cache fp16");
    cpu::check_kv_format(cache.layout.format, params.head_dim);
    if (cache.layout.head_dim != params.head_dim || cache.layout.n_kv_heads != params.n_kv_heads ||
        cache.layout.block_tokens <= 0 || cache.block_stride_bytes != cache.layout.block_bytes())
        throw Error("qkv_bias_norm_rope: the KV cache layout does not match the heads (" +
                    std::to_string(cache.layout.n_kv_heads) + " x " + std::to_string(cache.layout.head_dim) +
                    " vs " + std::to_string(params.n_kv_heads) + " x " + std::to_string(params.head_dim) + ")");
    if (cache.layout.keys_by_channel() && (!cache.pending_keys || !cache.pending_values))
        throw Error("qkv_bias_norm_rope: a q4 KV cache needs its pending key and value buffers");
    if (params.n_tokens == 0) return;
    const int heads = params.n_heads + 2 * params.n_kv_heads;
    const dim3 grid(params.n_tokens, (heads + kWarpsPerBlock - 1) / kWarpsPerBlock);
    launch_dependent(qkv_rope_kernel<T>, grid, dim3(kWarpsPerBlock * kWarpSize), 0, stream, params, qkv, q_out, cache);
    if (cache.layout.keys_by_channel()) store_q4_key_groups(params, qkv, cache, stream);
}

template void qkv_bias_norm_rope(const QkvRopeParams<__half>&, float*, __half*, const KvCacheWrite&, cudaStream_t);
template void qkv_bias_norm_rope(const QkvRopeParams<__nv_bfloat16>&, float*, __nv_bfloat16*, const KvCacheWrite&,
                                 cudaStream_t);

}  // namespace attn::cuda
