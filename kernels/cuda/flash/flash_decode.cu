// Flash-decoding (Dao et al. 2023): the KV length of each sequence is split across CTAs; a CTA serves all
// query heads of one kv head (the GQA group, up to 8 at a time) from a single read of its K/V slice, and
// writes a partial (max, sum, unnormalised output) per head; a second small kernel merges the splits.
// Memory-bound by design: each K/V byte is read once with a 16-byte load straight into registers, a key row
// is spread over 8/16/32 lanes (one 16-byte chunk each), and every group of lanes runs its own online
// softmax, so the key loop has no block-wide synchronisation. Any head_dim of head_dim_switch.h, any arch.
// Every cache format (kv_format.cuh) runs the same loop, instantiated per format: a lane loads its 8 elements'
// codes (16/8/4 bytes for fp16/q8/q4) and decodes them in registers; q4 values are accumulated rotated and the
// output row is rotated back once (here or in the merge), as o = Hᵀ Σ p·v' allows.
#include "kernels/cuda/flash/flash_decode.h"

#include <algorithm>
#include <string>

#include <math_constants.h>

#include "kernels/cuda/flash/head_dim_switch.h"
#include "kernels/cuda/kv_format.cuh"
#include "kernels/cuda/kv_hadamard.cuh"
#include "src/cuda/check.h"

namespace attn::cuda {

namespace {

constexpr int kDecodeWarps = 4;
constexpr int kDecodeThreads = 32 * kDecodeWarps;
constexpr int kMaxHeadsPerCta = 8;
constexpr int kKeysInFlight = 4;       // keys each lane group loads before using any (bytes in flight; a
                                       // knob to retune for q8/q4, whose keys carry 2x/4x fewer bytes)
constexpr int kMinKeysPerSplit = 128;  // below this a split costs more in merging than it gains
constexpr int kMaxSplits = 64;

template <int HeadDim>
struct DecodeLanes {
    static constexpr int kChunks = HeadDim / 8;  // 16-byte chunks per key row
    static constexpr int kLanesPerKey = kChunks <= 8 ? 8 : kChunks <= 16 ? 16 : 32;
    static constexpr int kKeysPerWarp = 32 / kLanesPerKey;  // keys a warp reads side by side
};

// Merges the online-softmax state (m, l, acc) of `other` into `mine`; m is in log2 units.
__device__ __forceinline__ void merge_softmax_state(float& m, float& l, float* acc, float m_other, float l_other,
                                                    const float* acc_other, int n) {
    const float m_new = fmaxf(m, m_other);
    const float base = m_new == -CUDART_INF_F ? 0.0f : m_new;
    const float f = exp2f(m - base), f_other = exp2f(m_other - base);
    l = l * f + l_other * f_other;
    for (int i = 0; i < n; ++i) acc[i] = acc[i] * f + acc_other[i] * f_other;
    m = m_new;
}

struct DecodePartials {
    float2* max_sum = nullptr;  // [batch][n_heads][splits]: (m in log2 units, l)
    float* acc = nullptr;       // [batch][n_heads][splits][head_dim], unnormalised
    int splits = 1;
    int keys_per_split = 0;
};

// Lanes 0..31 of a warp rotate a q4 output row back: row[d] for d < HeadDim, in place in shared memory.
template <int HeadDim>
__device__ __forceinline__ void unrotate_row_in_warp(float* row) {
    constexpr int kPerLane = (HeadDim + 31) / 32;
    float x[kPerLane];
    const int lane = threadIdx.x % 32;
#pragma unroll
    for (int j = 0; j < kPerLane; ++j) x[j] = 32 * j + lane < HeadDim ? row[32 * j + lane] : 0.0f;
    warp_hadamard_unrotate(x, HeadDim);
#pragma unroll
    for (int j = 0; j < kPerLane; ++j)
        if (32 * j + lane < HeadDim) row[32 * j + lane] = x[j];
}

template <typename T, int HeadDim, int Heads, KvFormat F>
__global__ void __launch_bounds__(kDecodeThreads)
    flash_decode_kernel(const AttentionKernelArgs<T> a, DecodePartials part) {
    using Lanes = DecodeLanes<HeadDim>;
    const int seq = blockIdx.z, split = blockIdx.x;
    const int head_chunks = (a.group + Heads - 1) / Heads;
    const int kv_head = blockIdx.y / head_chunks;
    const int head0 = kv_head * a.group + (blockIdx.y % head_chunks) * Heads;
    const int heads = min(Heads, kv_head * a.group + a.group - head0);
    const int q_row = a.p.q_offsets[seq];
    const int kv_len = a.p.kv_lens[seq];
    const int key_first = a.p.window > 0 ? max(0, kv_len - a.p.window) : 0;  // the query sits at kv_len - 1
    const int split_begin = key_first + split * part.keys_per_split;
    const int split_end = min(kv_len, split_begin + part.keys_per_split);

    const int warp = threadIdx.x / 32, lane = threadIdx.x % 32;
    const int chunk = lane % Lanes::kLanesPerKey, group_in_warp = lane / Lanes::kLanesPerKey;
    const bool lane_active = chunk < Lanes::kChunks;

    float q[Heads][8];
#pragma unroll
    for (int h = 0; h < Heads; ++h) {
        const T* q_head = a.q + (int64_t(q_row) * a.p.n_heads + head0 + min(h, heads - 1)) * HeadDim;
        unpack8<T>(lane_active ? *reinterpret_cast<const uint4*>(q_head + chunk * 8) : make_uint4(0, 0, 0, 0), q[h]);
#pragma unroll
        for (int i = 0; i < 8; ++i) q[h][i] *= a.scale_log2;  // scores come out in log2 units
    }

    const int pending_first = kv_pending_first(kv_len);
    float m[Heads], l[Heads], acc[Heads][8];
#pragma unroll
    for (int h = 0; h < Heads; ++h) {
        m[h] = -CUDART_INF_F;
        l[h] = 0.0f;
#pragma unroll
        for (int i = 0; i < 8; ++i) acc[h][i] = 0.0f;
    }

    constexpr int kKeysPerWarpStep = Lanes::kKeysPerWarp * kKeysInFlight;
    for (int step = split_begin + warp * kKeysPerWarpStep; step < split_end; step += kDecodeWarps * kKeysPerWarpStep) {
        KvChunk8<T, F, false> k_raw[kKeysInFlight];
        KvChunk8<T, F, true> v_raw[kKeysInFlight];
        bool valid[kKeysInFlight];
#pragma unroll
        for (int u = 0; u < kKeysInFlight; ++u) {
            const int key = step + u * Lanes::kKeysPerWarp + group_in_warp;
            valid[u] = key < split_end;
            if (valid[u] && lane_active) {
                k_raw[u].fetch(locate_kv_row<F, false>(a.kv, seq, key, kv_head, HeadDim, pending_first), chunk * 8);
                v_raw[u].fetch(locate_kv_row<F, true>(a.kv, seq, key, kv_head, HeadDim, pending_first), chunk * 8);
            } else {
                k_raw[u].zero();
                v_raw[u].zero();
            }
        }
        float s[kKeysInFlight][Heads];
#pragma unroll
        for (int u = 0; u < kKeysInFlight; ++u) {
            float k[8];
            k_raw[u].decode(k);
#pragma unroll
            for (int h = 0; h < Heads; ++h) {
                float dot = 0.0f;
#pragma unroll
                for (int i = 0; i < 8; ++i) dot = fmaf(q[h][i], k[i], dot);
#pragma unroll
                for (int offset = Lanes::kLanesPerKey / 2; offset > 0; offset /= 2)
                    dot += __shfl_xor_sync(0xffffffffu, dot, offset);
                s[u][h] = valid[u] ? dot : -CUDART_INF_F;
            }
        }
        float v[kKeysInFlight][8];
#pragma unroll
        for (int u = 0; u < kKeysInFlight; ++u) v_raw[u].decode(v[u]);
#pragma unroll
        for (int h = 0; h < Heads; ++h) {
            float step_max = s[0][h];
#pragma unroll
            for (int u = 1; u < kKeysInFlight; ++u) step_max = fmaxf(step_max, s[u][h]);
            const float m_new = fmaxf(m[h], step_max);
            const float base = m_new == -CUDART_INF_F ? 0.0f : m_new;
            const float alpha = exp2f(m[h] - base);
            m[h] = m_new;
            l[h] *= alpha;
#pragma unroll
            for (int i = 0; i < 8; ++i) acc[h][i] *= alpha;
#pragma unroll
            for (int u = 0; u < kKeysInFlight; ++u) {
                const float p = exp2f(s[u][h] - base);
                l[h] += p;
#pragma unroll
                for (int i = 0; i < 8; ++i) acc[h][i] = fmaf(p, v[u][i], acc[h][i]);
            }
        }
    }

    // Lane groups of a warp hold the same chunk of different keys: merge them by shuffles...
#pragma unroll
    for (int offset = Lanes::kLanesPerKey; offset < 32; offset *= 2)
#pragma unroll
        for (int h = 0; h < Heads; ++h) {
            float acc_other[8];
#pragma unroll
            for (int i = 0; i < 8; ++i) acc_other[i] = __shfl_xor_sync(0xffffffffu, acc[h][i], offset);
            const float m_other = __shfl_xor_sync(0xffffffffu, m[h], offset);
            const float l_other = __shfl_xor_sync(0xffffffffu, l[h], offset);
            merge_softmax_state(m[h], l[h], acc[h], m_other, l_other, acc_other, 8);
        }
    // ...then the warps through shared memory.
    __shared__ float warp_max_sum[kDecodeWarps][Heads][2];
    __shared__ float warp_acc[kDecodeWarps][Heads][HeadDim];
    __shared__ float rotated_out[F == KvFormat::Q4 ? Heads : 1][HeadDim];  // q4, one split: rows to rotate back
    if (lane < Lanes::kLanesPerKey && lane_active)
#pragma unroll
        for (int h = 0; h < Heads; ++h) {
#pragma unroll
            for (int i = 0; i < 8; ++i) warp_acc[warp][h][chunk * 8 + i] = acc[h][i];
            if (chunk == 0) {
                warp_max_sum[warp][h][0] = m[h];
                warp_max_sum[warp][h][1] = l[h];
            }
        }
    __syncthreads();

    for (int idx = threadIdx.x; idx < heads * HeadDim; idx += kDecodeThreads) {
        const int h = idx / HeadDim, d = idx % HeadDim;
        float m_all = -CUDART_INF_F;
        for (int w = 0; w < kDecodeWarps; ++w) m_all = fmaxf(m_all, warp_max_sum[w][h][0]);
        const float base = m_all == -CUDART_INF_F ? 0.0f : m_all;
        float l_all = 0.0f, acc_all = 0.0f;
        for (int w = 0; w < kDecodeWarps; ++w) {
            const float f = exp2f(warp_max_sum[w][h][0] - base);
            l_all += warp_max_sum[w][h][1] * f;
            acc_all += warp_acc[w][h][d] * f;
        }
        const int head = head0 + h;
        if (part.splits == 1) {
            const float value = l_all > 0 ? acc_all / l_all : 0.0f;
            if constexpr (F == KvFormat::Q4)
                rotated_out[h][d] = value;
            else
                a.out[(int64_t(q_row) * a.p.n_heads + head) * HeadDim + d] = from_float<T>(value);
        } else {
            const int64_t slot = (int64_t(seq) * a.p.n_heads + head) * part.splits + split;
            part.acc[slot * HeadDim + d] = acc_all;
            if (d == 0) part.max_sum[slot] = make_float2(m_all, l_all);
        }
    }
    if constexpr (F == KvFormat::Q4) {
        if (part.splits > 1) return;  // the merge rotates
        __syncthreads();
        for (int h = warp; h < heads; h += kDecodeWarps) {
            unrotate_row_in_warp<HeadDim>(rotated_out[h]);
            __syncwarp();
            for (int d = lane; d < HeadDim; d += 32)
                a.out[(int64_t(q_row) * a.p.n_heads + head0 + h) * HeadDim + d] = from_float<T>(rotated_out[h][d]);
        }
    }
}

// One CTA per (head, sequence): out = sum_s acc_s * 2^(m_s - M) / sum_s l_s * 2^(m_s - M), then for q4 the
// rotation undone by the first warp on the row staged in shared memory.
template <typename T, int HeadDim>
__global__ void flash_decode_merge_kernel(const AttentionKernelArgs<T> a, DecodePartials part, bool unrotate) {
    __shared__ float row[HeadDim];
    const int head = blockIdx.x, seq = blockIdx.y;
    const int64_t first_slot = (int64_t(seq) * a.p.n_heads + head) * part.splits;
    float m_all = -CUDART_INF_F;
    for (int s = 0; s < part.splits; ++s) m_all = fmaxf(m_all, part.max_sum[first_slot + s].x);
    const float base = m_all == -CUDART_INF_F ? 0.0f : m_all;
    float l_all = 0.0f;
    for (int s = 0; s < part.splits; ++s) {
        const float2 ms = part.max_sum[first_slot + s];
        l_all += ms.y * exp2f(ms.x - base);
    }
    const float inv = l_all > 0.0f ? 1.0f / l_all : 0.0f;
    T* out = a.out + (int64_t(a.p.q_offsets[seq]) * a.p.n_heads + head) * HeadDim;
    for (int d = threadIdx.x; d < HeadDim; d += blockDim.x) {
        float acc = 0.0f;
        for (int s = 0; s < part.splits; ++s)
            acc += part.acc[(first_slot + s) * HeadDim + d] * exp2f(part.max_sum[first_slot + s].x - base);
        row[d] = acc * inv;
    }
    __syncthreads();
    if (unrotate && threadIdx.x < 32) {
        unrotate_row_in_warp<HeadDim>(row);
        __syncwarp();
    }
    if (unrotate) __syncthreads();
    for (int d = threadIdx.x; d < HeadDim; d += blockDim.x) out[d] = from_float<T>(row[d]);
}

int heads_per_cta(int group) {
    const int heads = std::min(group, kMaxHeadsPerCta);
    return heads <= 1 ? 1 : heads <= 2 ? 2 : heads <= 4 ? 4 : 8;
}

int multiprocessor_count() {
    int device = 0, count = 0;
    CUDA_CHECK(cudaGetDevice(&device));
    CUDA_CHECK(cudaDeviceGetAttribute(&count, cudaDevAttrMultiProcessorCount, device));
    return count;
}

// Enough splits for about four CTAs per SM, never fewer than kMinKeysPerSplit keys each. Depends only on
// the params and the device, so that the workspace size and the launch agree.
DecodePartials plan_splits(const AttentionParams& p) {
    const int group = p.n_heads / p.n_kv_heads;
    const int heads = heads_per_cta(group);
    const int ctas = p.batch * p.n_kv_heads * ((group + heads - 1) / heads);
    const int visible = p.window > 0 ? std::min(p.max_kv_len, p.window) : p.max_kv_len;
    const int by_length = std::max(1, (visible + kMinKeysPerSplit - 1) / kMinKeysPerSplit);
    const int by_occupancy = std::max(1, (4 * multiprocessor_count() + ctas - 1) / ctas);
    DecodePartials plan;
    plan.splits = std::min({by_length, by_occupancy, kMaxSplits});
    plan.keys_per_split = std::max(1, (visible + plan.splits - 1) / plan.splits);
    return plan;
}

size_t partial_slots(const AttentionParams& p, int splits) { return size_t(p.batch) * p.n_heads * splits; }

template <typename T, int HeadDim, int Heads>
void launch_decode(const AttentionParams& p, const AttentionKernelArgs<T>& args, const DecodePartials& plan,
                   cudaStream_t stream) {
    const int head_chunks = (args.group + Heads - 1) / Heads;
    const dim3 grid(plan.splits, p.n_kv_heads * head_chunks, p.batch);
    dispatch_kv_format(args.kv.format(), [&](auto format) {
        flash_decode_kernel<T, HeadDim, Heads, decltype(format)::value><<<grid, kDecodeThreads, 0, stream>>>(args, plan);
    });
    CUDA_CHECK_LAUNCH();
    if (plan.splits > 1) {
        flash_decode_merge_kernel<T, HeadDim><<<dim3(p.n_heads, p.batch), 128, 0, stream>>>(
            args, plan, args.kv.format() == KvFormat::Q4);
        CUDA_CHECK_LAUNCH();
    }
}

}  // namespace

size_t flash_decode_workspace_bytes(const AttentionParams& p) {
    const DecodePartials plan = plan_splits(p);
    if (plan.splits == 1) return 0;
    return partial_slots(p, plan.splits) * (sizeof(float2) + sizeof(float) * p.head_dim);
}

template <typename T>
void flash_decode(const AttentionParams& p, const AttentionKernelArgs<T>& args, const Workspace& workspace,
                  cudaStream_t stream) {
    DecodePartials plan = plan_splits(p);
    if (plan.splits > 1) {
        const size_t needed = flash_decode_workspace_bytes(p);
        if (workspace.bytes < needed || !workspace.data)
            throw Error("flash decode needs a workspace of " + std::to_string(needed) + " bytes, got " +
                        std::to_string(workspace.bytes) + "; size it with attention_flash_workspace_bytes()");
        plan.max_sum = static_cast<float2*>(workspace.data);
        plan.acc = reinterpret_cast<float*>(plan.max_sum + partial_slots(p, plan.splits));
    }
    dispatch_head_dim(p.head_dim, "flash", [&](auto head_dim) {
        constexpr int D = decltype(head_dim)::value;
        switch (heads_per_cta(args.group)) {
            case 1: return launch_decode<T, D, 1>(p, args, plan, stream);
            case 2: return launch_decode<T, D, 2>(p, args, plan, stream);
            case 4: return launch_decode<T, D, 4>(p, args, plan, stream);
            default: return launch_decode<T, D, 8>(p, args, plan, stream);
        }
    });
}

template void flash_decode(const AttentionParams&, const AttentionKernelArgs<__half>&, const Workspace&, cudaStream_t);
template void flash_decode(const AttentionParams&, const AttentionKernelArgs<__nv_bfloat16>&, const Workspace&,
                           cudaStream_t);

}  // namespace attn::cuda
