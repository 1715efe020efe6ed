#pragma once
// FlashAttention-2 forward (Dao 2023), varlen, for any number of queries per sequence.
// A CTA owns 64 query rows of one (sequence, head): 4 warps x 16 rows, Q read once (into registers on the
// tensor-core paths), then K/V tiles stream through shared memory (cp.async double buffering on sm80) while
// each warp keeps its rows' running max, sum and output in registers; O is written once, normalised.
// Tiles the causal/window mask hides entirely are never loaded; only edge tiles are masked.
// Paths (kernel_path.h): mma m16n8k16 (sm80+), m16n8k8 pairs (sm75), SIMT fp32 (sm60/61/70 or forced).
// K/V tiles come through kv_tile_copy.cuh, which decodes q8/q4 caches while staging them.
// Limits: head_dim in head_dim_switch.h; q/k/v rows 16-byte aligned.
#include <cstdint>
#include <string>

#include "kernels/cuda/flash/attention_kernel_args.cuh"
#include "kernels/cuda/flash/flash_prefill.h"
#include "kernels/cuda/flash/flash_warp_math.cuh"
#include "kernels/cuda/flash/kv_tile_copy.cuh"
#include "kernels/cuda/flash/online_softmax.cuh"
#include "kernels/cuda/flash/shared_tile_copy.cuh"
#include "src/cuda/check.h"

namespace attn::cuda {

template <typename T, int HeadDim, KernelPath Path>
struct FlashPrefillTile {
    static constexpr bool kTensorCore = Path != KernelPath::Simt;
    static constexpr int kWarps = 4;
    static constexpr int kThreads = 32 * kWarps;
    static constexpr int kBlockM = 16 * kWarps;
    // Keys per tile: as many as keep K+V of all stages (and, for SIMT, Q and P) within Turing's 64 KiB.
    static constexpr int kBlockN = kTensorCore ? (HeadDim <= 128 ? 64 : 32) : (HeadDim <= 128 ? 32 : 16);
    static constexpr int kKeyTiles = kBlockN / 8;
    static constexpr int kStages = Path == KernelPath::TensorCoreSm80 ? 2 : 1;
    // +8 halves (16 bytes) per row: the 8 rows an ldmatrix or a SIMT quad reads fall in different banks.
    static constexpr int kRowStride = HeadDim + 8;
    static constexpr int kPStride = kBlockN + 4;
    // Tensor-core paths stage Q through the first K/V stage and keep it in registers; SIMT keeps it in smem.
    static constexpr int kQElems = kTensorCore ? 0 : kBlockM * kRowStride;
    static constexpr int kStageElems = 2 * kBlockN * kRowStride;
    static constexpr int kPFloats = kTensorCore ? 0 : kBlockM * kPStride;
    static constexpr size_t kSharedBytes =
        size_t(kQElems + kStages * kStageElems) * sizeof(T) + size_t(kPFloats) * sizeof(float);
    static_assert(!kTensorCore || kBlockM * kRowStride <= kStages * kStageElems, "Q is staged in the K/V buffers");
    static_assert(HeadDim % 16 == 0 && kKeyTiles % 2 == 0, "mma tiles are 16 wide");
};

template <typename T, int HeadDim, KernelPath Path>
__global__ void __launch_bounds__(FlashPrefillTile<T, HeadDim, Path>::kThreads)
    flash_prefill_kernel(const AttentionKernelArgs<T> a) {
    using Tile = FlashPrefillTile<T, HeadDim, Path>;
    extern __shared__ uint4 shared_words[];
    T* q_smem = reinterpret_cast<T*>(shared_words);
    T* kv_smem = q_smem + Tile::kQElems;
    float* p_smem = reinterpret_cast<float*>(kv_smem + Tile::kStages * Tile::kStageElems);

    const int seq = blockIdx.z, head = blockIdx.y;
    const int q_begin = a.p.q_offsets[seq], q_len = a.p.q_offsets[seq + 1] - q_begin;
    // Causal: the last query blocks see the most keys; starting them first shortens the tail of the grid.
    const int row0 = (a.p.causal ? gridDim.x - 1 - blockIdx.x : blockIdx.x) * Tile::kBlockM;
    if (row0 >= q_len) return;
    const int kv_len = a.p.kv_lens[seq];
    const int rows = min(Tile::kBlockM, q_len - row0);
    const int first_pos = kv_len - q_len + row0, last_pos = first_pos + rows - 1;
    const KeyRange keys = visible_key_range(a.p, first_pos, last_pos, kv_len);
    const int tile_first = keys.begin / Tile::kBlockN;
    const int tile_end = keys.end > keys.begin ? (keys.end + Tile::kBlockN - 1) / Tile::kBlockN : tile_first;

    const int warp = threadIdx.x / 32, lane = threadIdx.x % 32;
    const int64_t q_row_stride = int64_t(a.p.n_heads) * HeadDim;
    const T* q_rows = a.q + (int64_t(q_begin + row0) * a.p.n_heads + head) * HeadDim;
    const int kv_head = head / a.group, pending_first = kv_pending_first(kv_len);
    auto load_kv_tile = [&](int tile, int stage) {
        T* k_tile = kv_smem + stage * Tile::kStageElems;
        const int key0 = tile * Tile::kBlockN;
        load_kv_rows<HeadDim, Tile::kRowStride, Tile::kThreads, Path, false>(k_tile, a.kv, seq, kv_head, key0,
                                                                             Tile::kBlockN, keys.end - key0, pending_first);
        load_kv_rows<HeadDim, Tile::kRowStride, Tile::kThreads, Path, true>(k_tile + Tile::kBlockN * Tile::kRowStride,
                                                                            a.kv, seq, kv_head, key0, Tile::kBlockN,
                                                                            keys.end - key0, pending_first);
    };

    uint32_t qf[Tile::kTensorCore ? HeadDim / 16 : 1][4];
    if constexpr (Tile::kTensorCore) {
        load_rows<HeadDim, Tile::kRowStride, Tile::kThreads, Path>(kv_smem, q_rows, q_row_stride, Tile::kBlockM, rows);
        mma::copy_commit<Path>();
        mma::copy_wait<Path, 0>();
        __syncthreads();
        load_q_fragments<HeadDim, Tile::kRowStride>(qf, kv_smem + warp * 16 * Tile::kRowStride, lane);
        __syncthreads();  // the first K/V tile overwrites the staged Q
    } else {
        load_rows<HeadDim, Tile::kRowStride, Tile::kThreads, Path>(q_smem, q_rows, q_row_stride, Tile::kBlockM, rows);
    }

    float o[HeadDim / 8][4] = {};
    float m[2] = {-CUDART_INF_F, -CUDART_INF_F};
    float l[2] = {0.0f, 0.0f};
    const int row_pos = first_pos + warp * 16 + lane / 4;

    if (tile_first < tile_end) load_kv_tile(tile_first, 0);
    mma::copy_commit<Path>();
    for (int tile = tile_first; tile < tile_end; ++tile) {
        const int stage = Tile::kStages == 1 ? 0 : (tile - tile_first) & 1;
        if constexpr (Tile::kStages == 2) {
            // Next tile's copy runs while this one is computed; the group count stays uniform.
            if (tile + 1 < tile_end) load_kv_tile(tile + 1, stage ^ 1);
            mma::copy_commit<Path>();
            mma::copy_wait<Path, 1>();
        }
        __syncthreads();
        const T* k_tile = kv_smem + stage * Tile::kStageElems;
        const T* v_tile = k_tile + Tile::kBlockN * Tile::kRowStride;

        float s[Tile::kKeyTiles][4];
        if constexpr (Tile::kTensorCore)
            scores_tensor_core<Path, T, HeadDim, Tile::kKeyTiles, Tile::kRowStride>(s, qf, k_tile, lane);
        else
            scores_simt<T, HeadDim, Tile::kKeyTiles, Tile::kRowStride>(s, q_smem + warp * 16 * Tile::kRowStride, k_tile,
                                                                    lane);
        const int key0 = tile * Tile::kBlockN;
        if (!tile_fully_visible(a.p, key0, Tile::kBlockN, first_pos, last_pos, kv_len))
            mask_scores(s, a.p, key0, row_pos, kv_len, lane);
        online_softmax_step(s, m, l, o, a.scale_log2);
        if constexpr (Tile::kTensorCore)
            accumulate_pv_tensor_core<Path, T, HeadDim, Tile::kKeyTiles, Tile::kRowStride>(o, s, v_tile, lane);
        else
            accumulate_pv_simt<T, HeadDim, Tile::kKeyTiles, Tile::kRowStride, Tile::kPStride>(
                o, s, v_tile, p_smem + warp * 16 * Tile::kPStride, lane);
        __syncthreads();  // every warp is done with this stage before it is refilled
        if constexpr (Tile::kStages == 1)
            if (tile + 1 < tile_end) load_kv_tile(tile + 1, 0);
    }

#pragma unroll
    for (int half = 0; half < 2; ++half) {
        const float sum = quad_sum(l[half]);
        const float inv = sum > 0.0f ? 1.0f / sum : 0.0f;
        const int row = warp * 16 + lane / 4 + half * 8;
        if (row >= rows) continue;
        ElementPair<T>* out = reinterpret_cast<ElementPair<T>*>(a.out + (int64_t(q_begin + row0 + row) * a.p.n_heads + head) * HeadDim);
#pragma unroll
        for (int n = 0; n < HeadDim / 8; ++n)
            out[n * 4 + lane % 4] = pair_from_floats<T>(o[n][2 * half] * inv, o[n][2 * half + 1] * inv);
    }
}

template <typename T, int HeadDim, KernelPath Path>
void launch_flash_prefill_path(const AttentionKernelArgs<T>& args, cudaStream_t stream) {
    using Tile = FlashPrefillTile<T, HeadDim, Path>;
    int device = 0, max_shared = 0;
    CUDA_CHECK(cudaGetDevice(&device));
    CUDA_CHECK(cudaDeviceGetAttribute(&max_shared, cudaDevAttrMaxSharedMemoryPerBlockOptin, device));
    if (Tile::kSharedBytes > size_t(max_shared))
        throw Error("flash attention with head_dim " + std::to_string(HeadDim) + " on the " + kernel_path_name(Path) +
                    " path needs " + std::to_string(Tile::kSharedBytes / 1024) + " KiB of shared memory per block, " +
                    "this GPU allows " + std::to_string(max_shared / 1024) + " KiB; use --attn-backend xformers or sdp");
    auto kernel = flash_prefill_kernel<T, HeadDim, Path>;
    CUDA_CHECK(cudaFuncSetAttribute(kernel, cudaFuncAttributeMaxDynamicSharedMemorySize, int(Tile::kSharedBytes)));
    const dim3 grid((args.p.max_q_len + Tile::kBlockM - 1) / Tile::kBlockM, args.p.n_heads, args.p.batch);
    kernel<<<grid, Tile::kThreads, Tile::kSharedBytes, stream>>>(args);
    CUDA_CHECK_LAUNCH();
}

template <typename T, int HeadDim>
void launch_flash_prefill(const AttentionKernelArgs<T>& args, KernelPath path, cudaStream_t stream) {
    if constexpr (kIsBf16<T>) {
        require_bf16_path(path, "flash");
        return launch_flash_prefill_path<T, HeadDim, KernelPath::TensorCoreSm80>(args, stream);
    } else {
        switch (path) {
            case KernelPath::TensorCoreSm80:
                return launch_flash_prefill_path<T, HeadDim, KernelPath::TensorCoreSm80>(args, stream);
            case KernelPath::TensorCoreSm75:
                return launch_flash_prefill_path<T, HeadDim, KernelPath::TensorCoreSm75>(args, stream);
            case KernelPath::Simt:
                return launch_flash_prefill_path<T, HeadDim, KernelPath::Simt>(args, stream);
        }
    }
}

}  // namespace attn::cuda
