// The memory-efficient attention of xformers' CUTLASS kernel (Rabe & Staats 2021; xformers fmha
// "kernel_forward.h"), which targets GPUs without fast tensor cores: a CTA owns 32 query rows; per key tile
// it computes S = Q K^T block-wide into shared memory, runs the online softmax row by row there (one warp
// per row, max and sum by shuffles), loads V into the buffer K used, and accumulates O = O*alpha + P V with
// each thread owning a 4-row sub-tile (SIMT) or each warp a 16-row quarter (tensor cores, where present).
// Unlike flash (which keeps S in registers, 64 rows per CTA), every step goes through shared memory, which
// keeps registers low and the footprint under 48 KiB for every head size: it runs on sm_60 as well.
// K/V tiles come through ../flash/kv_tile_copy.cuh (q8/q4 decoded while staged).
// Limits: head_dim in ../flash/head_dim_switch.h; 16-byte aligned rows. Decode uses ../flash/flash_decode.
#include "kernels/cuda/xformers/xformers_prefill.h"

#include <string>

#include <math_constants.h>

#include "kernels/cuda/flash/head_dim_switch.h"
#include "kernels/cuda/flash/kv_tile_copy.cuh"
#include "kernels/cuda/flash/shared_tile_copy.cuh"
#include "kernels/cuda/xformers/xformers_gemm.cuh"
#include "src/cuda/check.h"

namespace attn::cuda {

namespace {

template <typename T, int HeadDim, KernelPath Path>
struct XformersTile {
    static constexpr bool kTensorCore = Path != KernelPath::Simt;
    static constexpr int kWarps = 4;
    static constexpr int kThreads = 32 * kWarps;
    static constexpr int kBlockM = 32;
    static constexpr int kBlockN = HeadDim <= 128 ? 64 : 32;
    static constexpr int kRowStride = HeadDim + 8;
    // fp32 S/P rows: +4 floats puts the SIMT row blocks of a warp on different banks, +8 the mma quads.
    static constexpr int kSStride = kTensorCore ? kBlockN + 8 : kBlockN + 4;
    static constexpr size_t kQBytes = size_t(kBlockM) * kRowStride * sizeof(T);
    static constexpr size_t kKvBytes = size_t(kBlockN) * kRowStride * sizeof(T);  // K, then V, one buffer
    static constexpr size_t kSBytes = size_t(kBlockM) * kSStride * sizeof(float);
    static constexpr size_t kStatsBytes = 3 * kBlockM * sizeof(float);
    static constexpr size_t kSharedBytes = kQBytes + kKvBytes + kSBytes + kStatsBytes;
    static_assert(kBlockM == 8 * kWarps && kThreads == 16 * kBlockM / 4, "softmax: 8 rows a warp; SIMT: 4 rows a 16");
};

// One warp per row: mask, running max, probabilities written over the scores, rescale factor for O.
template <int BlockN, int SStride>
__device__ __forceinline__ void softmax_rows(float* s_smem, float* row_max, float* row_sum, float* row_alpha,
                                             const AttentionParams& p, float scale_log2, bool needs_mask, int key0, int first_pos,
                                             int kv_len) {
    const int warp = threadIdx.x / 32, lane = threadIdx.x % 32;
    for (int r = warp * 8; r < warp * 8 + 8; ++r) {
        float x[BlockN / 32];
        float local_max = -CUDART_INF_F;
#pragma unroll
        for (int i = 0; i < BlockN / 32; ++i) {
            const int c = lane + 32 * i;
            x[i] = s_smem[r * SStride + c];
            if (needs_mask && !key_in_sequence_visible(p, first_pos + r, key0 + c, kv_len)) x[i] = -CUDART_INF_F;
            local_max = fmaxf(local_max, x[i]);
        }
        for (int offset = 16; offset > 0; offset /= 2)
            local_max = fmaxf(local_max, __shfl_xor_sync(0xffffffffu, local_max, offset));
        const float m_old = row_max[r];
        const float m_new = fmaxf(m_old, local_max);
        const float base = m_new == -CUDART_INF_F ? 0.0f : m_new * scale_log2;
        const float alpha = exp2f(m_old * scale_log2 - base);
        float sum = 0.0f;
#pragma unroll
        for (int i = 0; i < BlockN / 32; ++i) {
            const float p = exp2f(fmaf(x[i], scale_log2, -base));
            s_smem[r * SStride + lane + 32 * i] = p;
            sum += p;
        }
        for (int offset = 16; offset > 0; offset /= 2) sum += __shfl_xor_sync(0xffffffffu, sum, offset);
        __syncwarp();  // every lane has read row_max[r] before lane 0 replaces it (racecheck cannot see the shuffles)
        if (lane == 0) {
            row_max[r] = m_new;
            row_sum[r] = row_sum[r] * alpha + sum;
            row_alpha[r] = alpha;
        }
    }
}

template <typename T, int HeadDim, KernelPath Path>
__global__ void __launch_bounds__(XformersTile<T, HeadDim, Path>::kThreads)
    xformers_prefill_kernel(const AttentionKernelArgs<T> a) {
    using Tile = XformersTile<T, HeadDim, Path>;
    extern __shared__ uint4 shared_words[];
    unsigned char* shared = reinterpret_cast<unsigned char*>(shared_words);
    T* q_smem = reinterpret_cast<T*>(shared);
    T* kv_smem = reinterpret_cast<T*>(shared + Tile::kQBytes);
    float* s_smem = reinterpret_cast<float*>(shared + Tile::kQBytes + Tile::kKvBytes);
    float* row_max = s_smem + Tile::kBlockM * Tile::kSStride;
    float* row_sum = row_max + Tile::kBlockM;
    float* row_alpha = row_sum + Tile::kBlockM;

    const int seq = blockIdx.z, head = blockIdx.y;
    const int q_begin = a.p.q_offsets[seq], q_len = a.p.q_offsets[seq + 1] - q_begin;
    const int row0 = (a.p.causal ? gridDim.x - 1 - blockIdx.x : blockIdx.x) * Tile::kBlockM;  // longest first
    if (row0 >= q_len) return;
    const int kv_len = a.p.kv_lens[seq];
    const int rows = min(Tile::kBlockM, q_len - row0);
    const int first_pos = kv_len - q_len + row0, last_pos = first_pos + rows - 1;
    const KeyRange keys = visible_key_range(a.p, first_pos, last_pos, kv_len);
    const int tile_first = keys.begin / Tile::kBlockN;
    const int tile_end = keys.end > keys.begin ? (keys.end + Tile::kBlockN - 1) / Tile::kBlockN : tile_first;

    const T* q_rows = a.q + (int64_t(q_begin + row0) * a.p.n_heads + head) * HeadDim;
    const int kv_head = head / a.group, pending_first = kv_pending_first(kv_len);
    load_rows<HeadDim, Tile::kRowStride, Tile::kThreads, Path>(q_smem, q_rows, int64_t(a.p.n_heads) * HeadDim,
                                                               Tile::kBlockM, rows);
    mma::copy_commit<Path>();
    if (threadIdx.x < Tile::kBlockM) {
        row_max[threadIdx.x] = -CUDART_INF_F;
        row_sum[threadIdx.x] = 0.0f;
    }

    float o[HeadDim / 16][4] = {};  // either layout holds a quarter of 32 x HeadDim per warp
    for (int tile = tile_first; tile < tile_end; ++tile) {
        const int key0 = tile * Tile::kBlockN;
        load_kv_rows<HeadDim, Tile::kRowStride, Tile::kThreads, Path, false>(kv_smem, a.kv, seq, kv_head, key0,
                                                                             Tile::kBlockN, keys.end - key0, pending_first);
        mma::copy_commit<Path>();
        mma::copy_wait<Path, 0>();
        __syncthreads();
        if constexpr (Tile::kTensorCore)
            xformers::scores_tensor_core<Path, T, HeadDim, Tile::kBlockN, Tile::kRowStride, Tile::kSStride>(s_smem, q_smem,
                                                                                                         kv_smem);
        else
            xformers::scores_simt<T, HeadDim, Tile::kBlockN, Tile::kRowStride, Tile::kSStride>(s_smem, q_smem, kv_smem);
        __syncthreads();
        // V replaces K in the same buffer; on sm80 its copy runs during the softmax.
        load_kv_rows<HeadDim, Tile::kRowStride, Tile::kThreads, Path, true>(kv_smem, a.kv, seq, kv_head, key0,
                                                                            Tile::kBlockN, keys.end - key0, pending_first);
        mma::copy_commit<Path>();
        const bool needs_mask = !tile_fully_visible(a.p, key0, Tile::kBlockN, first_pos, last_pos, kv_len);
        softmax_rows<Tile::kBlockN, Tile::kSStride>(s_smem, row_max, row_sum, row_alpha, a.p, a.scale_log2, needs_mask, key0, first_pos,
                                                    kv_len);
        mma::copy_wait<Path, 0>();
        __syncthreads();
        if constexpr (Tile::kTensorCore)
            xformers::accumulate_pv_tensor_core<Path, T, HeadDim, Tile::kBlockN, Tile::kRowStride, Tile::kSStride>(
                o, s_smem, row_alpha, kv_smem);
        else
            xformers::accumulate_pv_simt<T, HeadDim, Tile::kBlockN, Tile::kRowStride, Tile::kSStride>(o, s_smem, row_alpha,
                                                                                                  kv_smem);
        __syncthreads();  // the next K tile overwrites V and S
    }
    __syncthreads();  // row_sum is final (also when there was no tile)

    auto store = [&](int row, int col, float value) {
        if (row >= rows) return;
        const float sum = row_sum[row];
        a.out[(int64_t(q_begin + row0 + row) * a.p.n_heads + head) * HeadDim + col] =
            from_float<T>(sum > 0.0f ? value / sum : 0.0f);
    };
    if constexpr (Tile::kTensorCore) {
        const int warp = threadIdx.x / 32, lane = threadIdx.x % 32;
        const int r = (warp % 2) * 16 + lane / 4, c = (warp / 2) * (HeadDim / 2) + 2 * (lane % 4);
#pragma unroll
        for (int n = 0; n < HeadDim / 16; ++n)
#pragma unroll
            for (int i = 0; i < 4; ++i) store(r + (i / 2) * 8, c + n * 8 + i % 2, o[n][i]);
    } else {
        const int rb = threadIdx.x / 16, cb = threadIdx.x % 16;
#pragma unroll
        for (int i = 0; i < 4; ++i)
#pragma unroll
            for (int k = 0; k < HeadDim / 16; ++k) store(rb * 4 + i, cb + 16 * k, o[k][i]);
    }
}

template <typename T, int HeadDim, KernelPath Path>
void launch_path(const AttentionKernelArgs<T>& args, cudaStream_t stream) {
    using Tile = XformersTile<T, HeadDim, Path>;
    auto kernel = xformers_prefill_kernel<T, HeadDim, Path>;
    CUDA_CHECK(cudaFuncSetAttribute(kernel, cudaFuncAttributeMaxDynamicSharedMemorySize, int(Tile::kSharedBytes)));
    const dim3 grid((args.p.max_q_len + Tile::kBlockM - 1) / Tile::kBlockM, args.p.n_heads, args.p.batch);
    kernel<<<grid, Tile::kThreads, Tile::kSharedBytes, stream>>>(args);
    CUDA_CHECK_LAUNCH();
}

}  // namespace

template <typename T>
void launch_xformers_prefill(const AttentionKernelArgs<T>& args, KernelPath path, cudaStream_t stream) {
    if constexpr (kIsBf16<T>) require_bf16_path(path, "xformers");
    dispatch_head_dim(args.p.head_dim, "xformers", [&](auto head_dim) {
        constexpr int D = decltype(head_dim)::value;
        if constexpr (kIsBf16<T>) {
            launch_path<T, D, KernelPath::TensorCoreSm80>(args, stream);
        } else {
            switch (path) {
                case KernelPath::TensorCoreSm80: return launch_path<T, D, KernelPath::TensorCoreSm80>(args, stream);
                case KernelPath::TensorCoreSm75: return launch_path<T, D, KernelPath::TensorCoreSm75>(args, stream);
                case KernelPath::Simt: return launch_path<T, D, KernelPath::Simt>(args, stream);
            }
        }
    });
}

template void launch_xformers_prefill(const AttentionKernelArgs<__half>&, KernelPath, cudaStream_t);
template void launch_xformers_prefill(const AttentionKernelArgs<__nv_bfloat16>&, KernelPath, cudaStream_t);

}  // namespace attn::cuda
