#pragma once
// FlashAttention-2 forward (Dao 2023), varlen, for any number of queries per sequence.
// A CTA owns a block of query rows of one (sequence, head) (FlashPrefillTile: 128 rows on sm80 at head_dim
// 80-128, 64 elsewhere; prefill_grid.cuh orders the blocks), Q read once (into registers, or into shared memory where registers are short), then K/V
// tiles stream through shared memory (a 2-3 stage cp.async pipeline on sm80, K and V of a tile in separate
// groups) while each warp keeps its rows' running max, sum and output in registers; O is written once,
// normalised.
// Tiles the causal/window mask hides entirely are never loaded; only edge tiles are masked.
// Paths (kernel_path.h): mma m16n8k16 (sm80+), m16n8k8 pairs (sm75), SIMT fp32 (sm60/61/70 or forced).
// Limits: head_dim in head_dim_switch.h; q/k/v rows 16-byte aligned.
#include <cstdint>
#include <string>
#include <type_traits>

#include "kernels/cuda/flash/attention_kernel_args.cuh"
#include "kernels/cuda/flash/flash_prefill.h"
#include "kernels/cuda/flash/flash_warp_math.cuh"
#include "kernels/cuda/flash/kv_tile_copy.cuh"
#include "kernels/cuda/flash/online_softmax.cuh"
#include "kernels/cuda/flash/prefill_grid.cuh"
#include "kernels/cuda/flash/shared_tile_copy.cuh"
#include "src/cuda/check.h"

namespace attn::cuda {

// WideKeys (sm80, head_dim 128): 64-key tiles instead of 32 at 102 KiB, i.e. half the softmax steps and
// barriers per key; the launch takes it where two such CTAs fit on an SM (H100), 32-key tiles elsewhere.
// Measured on the H100: +15% at s = 4096 causal, +12% at 16k, despite ptxas spilling 152 bytes.
template <typename T, int HeadDim, KernelPath Path, bool WideKeys = false>
struct FlashPrefillTile {
    static constexpr bool kSm80 = Path == KernelPath::TensorCoreSm80;
    static constexpr bool kTensorCore = Path != KernelPath::Simt;
    static_assert(!WideKeys || (kSm80 && HeadDim == 128), "wide key tiles are an sm80 head_dim 128 config");
    // sm80, head_dim 80 to 128: 128 query rows per CTA, so every K/V byte brought in from L2 serves twice the
    // rows (64 rows was L2-bound at head_dim 128): 4 warps x two m16 tiles, each K/V fragment read from
    // shared memory feeding both. Measured on the H100, head_dim 64 (Q in registers, four CTAs per SM) and
    // 256 (two tiles' O accumulators would not fit) are faster with 4 warps x 16 rows, as are Turing (64
    // KiB) and SIMT.
    static constexpr int kMTiles = kSm80 && HeadDim > 64 && HeadDim <= 128 ? 2 : 1;
    static constexpr int kWarps = 4;
    static constexpr int kThreads = 32 * kWarps;
    static constexpr int kWarpRows = 16 * kMTiles;
    static constexpr int kBlockM = kWarpRows * kWarps;
    // Q in registers costs HeadDim/2 registers per m-tile: affordable for one, not beside two tiles' O.
    static constexpr bool kQInRegisters = kTensorCore && kMTiles == 1;
    // Keys per tile. sm80: 64, but 32 from head_dim 128 on, where Q + 2 stages of 64 keys would pass 80 KiB
    // (two CTAs per SM on an A100; sm_86/89 launch at most 99 KiB). The older paths: K+V (and, for SIMT, Q
    // and P) within Turing's 64 KiB.
    static constexpr int kBlockN = kSm80 ? (HeadDim <= 96 || WideKeys ? 64 : 32)
                                         : kTensorCore ? (HeadDim <= 128 ? 64 : 32) : (HeadDim <= 128 ? 32 : 16);
    static constexpr int kKeyTiles = kBlockN / 8;
    // +8 elements (16 bytes) per row: the 8 rows an ldmatrix or a SIMT quad reads fall in different banks.
    static constexpr int kRowStride = HeadDim + 8;
    static constexpr int kPStride = kBlockN + 4;
    // Q staged through the K/V stages when it ends up in registers, its own region when it is read per tile.
    static constexpr int kQElems = kQInRegisters ? 0 : kBlockM * kRowStride;
    static constexpr int kStageElems = 2 * kBlockN * kRowStride;
    static constexpr int kPFloats = kTensorCore ? 0 : kBlockM * kPStride;
    static constexpr size_t shared_bytes(int stages) {
        return size_t(kQElems + stages * kStageElems) * sizeof(T) + size_t(kPFloats) * sizeof(float);
    }
    // cp.async stages on sm80 (tile t+stages-1 loads while tile t is computed): 3 where they fit the 80 KiB
    // above, else 2. The other paths copy synchronously into one stage.
    static constexpr int kStages = !kSm80 ? 1 : !WideKeys && shared_bytes(3) <= 80 * 1024 ? 3 : 2;
    static constexpr size_t kSharedBytes = shared_bytes(kStages);
    static_assert(!kQInRegisters || kBlockM * kRowStride <= kStages * kStageElems, "Q is staged in the K/V buffers");
    static_assert(HeadDim % 16 == 0 && kKeyTiles % 2 == 0, "mma tiles are 16 wide");
    static_assert(kTensorCore || kMTiles == 1, "the SIMT products work on 16 rows");
};

template <typename Tile, typename T, int HeadDim, KernelPath Path>
__global__ void __launch_bounds__(Tile::kThreads) flash_prefill_kernel(const AttentionKernelArgs<T> a) {
    constexpr int kMTiles = Tile::kMTiles, kStages = Tile::kStages;
    extern __shared__ uint4 shared_words[];
    T* q_smem = reinterpret_cast<T*>(shared_words);
    T* kv_smem = q_smem + Tile::kQElems;
    float* p_smem = reinterpret_cast<float*>(kv_smem + kStages * Tile::kStageElems);

    const PrefillBlock block = prefill_block(a.p, Tile::kBlockM);
    const int seq = block.seq, head = block.head, row0 = block.row0;
    const int q_begin = a.p.q_offsets[seq], q_len = a.p.q_offsets[seq + 1] - q_begin;
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
    const int kv_head = head / a.group;
    // K and V of a tile are separate commit groups: QK^T waits only for K while V is still in flight.
    // (Quantized caches are decoded with plain stores: for them the groups are empty and the waits free.)
    auto load_kv_tile = [&](int tile, int stage) {
        T* k_tile = kv_smem + stage * Tile::kStageElems;
        const int key0 = tile * Tile::kBlockN;
        load_kv_rows<HeadDim, Tile::kRowStride, Tile::kThreads, Path, false>(k_tile, a.kv, a.p, seq, kv_head, key0,
                                                                             Tile::kBlockN, keys.end - key0);
        mma::copy_commit<Path>();
        load_kv_rows<HeadDim, Tile::kRowStride, Tile::kThreads, Path, true>(k_tile + Tile::kBlockN * Tile::kRowStride,
                                                                            a.kv, a.p, seq, kv_head, key0,
                                                                            Tile::kBlockN, keys.end - key0);
        mma::copy_commit<Path>();
    };
    // sm80 prefetch: past the last tile it commits the same two groups, empty, so the wait counts stay fixed.
    auto prefetch = [&](int tile) {
        if (tile < tile_end) {
            load_kv_tile(tile, (tile - tile_first) % kStages);
        } else {
            mma::copy_commit<Path>();
            mma::copy_commit<Path>();
        }
    };

    const T* warp_q_smem = q_smem + warp * Tile::kWarpRows * Tile::kRowStride;
    if constexpr (Tile::kQInRegisters) {
        load_rows<HeadDim, Tile::kRowStride, Tile::kThreads, Path>(kv_smem, q_rows, q_row_stride, Tile::kBlockM, rows);
        mma::copy_commit<Path>();
        mma::copy_wait<Path, 0>();
        __syncthreads();
    } else {
        // Complete before the first tile's K (the wait below covers every older group).
        load_rows<HeadDim, Tile::kRowStride, Tile::kThreads, Path>(q_smem, q_rows, q_row_stride, Tile::kBlockM, rows);
        mma::copy_commit<Path>();
    }
    using QFragments =
        std::conditional_t<Tile::kQInRegisters, QFragmentsInRegisters<T, HeadDim, kMTiles, Tile::kRowStride>,
                           AFragmentsInShared<T, kMTiles, Tile::kRowStride>>;
    const QFragments qf(Tile::kQInRegisters ? kv_smem + warp * Tile::kWarpRows * Tile::kRowStride : warp_q_smem,
                        lane);
    if constexpr (Tile::kQInRegisters) __syncthreads();  // the first K/V tile overwrites the staged Q

    float o[kMTiles][HeadDim / 8][4] = {};
    float m[kMTiles][2], l[kMTiles][2];
#pragma unroll
    for (int mt = 0; mt < kMTiles; ++mt) {
        m[mt][0] = m[mt][1] = -CUDART_INF_F;
        l[mt][0] = l[mt][1] = 0.0f;
    }
    const int row_pos = first_pos + warp * Tile::kWarpRows + lane / 4;
    // A masked tile can be hidden from all rows of one warp (a block spans more keys of a causal diagonal or
    // a window edge than each warp's rows see); that warp's step would add nothing, so it only helps load the
    // tile. So does a warp whose rows all lie past the end of the sequence.
    const bool warp_has_rows = warp * Tile::kWarpRows < rows;
    const int warp_first_pos = first_pos + warp * Tile::kWarpRows;
    const int warp_last_pos = min(warp_first_pos + Tile::kWarpRows - 1, last_pos);  // later rows are not written
    const KeyRange warp_keys = visible_key_range(a.p, warp_first_pos, warp_first_pos + Tile::kWarpRows - 1, kv_len);

    for (int i = 0; i + 1 < kStages; ++i) prefetch(tile_first + i);  // the pipeline's head (sm80)
    for (int tile = tile_first; tile < tile_end; ++tile) {
        const int stage = (tile - tile_first) % kStages;
        if constexpr (kStages == 1) {
            __syncthreads();  // every warp is done with the previous tile
            load_kv_tile(tile, 0);
        } else {
            // K of this tile has landed; its V and the K/V of the next kStages - 2 tiles may be in flight.
            mma::copy_wait<Path, 2 * kStages - 3>();
        }
        __syncthreads();
        // Into the stage every warp finished with in the previous iteration.
        if constexpr (kStages > 1) prefetch(tile + kStages - 1);
        const T* k_tile = kv_smem + stage * Tile::kStageElems;
        const T* v_tile = k_tile + Tile::kBlockN * Tile::kRowStride;

        const int key0 = tile * Tile::kBlockN;
        // Masks are decided per warp: a block's rows straddle more diagonal and window-edge tiles than a warp's.
        const bool masked = !tile_fully_visible(a.p, key0, Tile::kBlockN, warp_first_pos, warp_last_pos, kv_len);
        const bool warp_computes =
            warp_has_rows && (!masked || (key0 < warp_keys.end && key0 + Tile::kBlockN > warp_keys.begin));
        float s[kMTiles][Tile::kKeyTiles][4];
        if (warp_computes) {
            if constexpr (Tile::kTensorCore)
                scores_tensor_core<Path, T, HeadDim, kMTiles, Tile::kKeyTiles, Tile::kRowStride>(s, qf, k_tile, lane);
            else
                scores_simt<T, HeadDim, Tile::kKeyTiles, Tile::kRowStride>(s[0], warp_q_smem, k_tile, lane);
#pragma unroll
            for (int mt = 0; mt < kMTiles; ++mt) {
                if (masked) mask_scores(s[mt], a.p, key0, row_pos + mt * 16, kv_len, lane);
                online_softmax_step(s[mt], m[mt], l[mt], o[mt], a.scale_log2);
            }
        }
        if constexpr (kStages > 1) {
            mma::copy_wait<Path, 2 * kStages - 2>();  // V of this tile has landed
            __syncthreads();
        }
        if (warp_computes) {
            if constexpr (Tile::kTensorCore)
                accumulate_pv_tensor_core<Path, T, HeadDim, kMTiles, Tile::kKeyTiles, Tile::kRowStride>(o, s, v_tile,
                                                                                                   lane);
            else
                accumulate_pv_simt<T, HeadDim, Tile::kKeyTiles, Tile::kRowStride, Tile::kPStride>(
                    o[0], s[0], v_tile, p_smem + warp * 16 * Tile::kPStride, lane);
        }
    }
    mma::copy_wait<Path, 0>();  // no copy outlives the CTA (Q's is still pending when there was no tile)

#pragma unroll
    for (int mt = 0; mt < kMTiles; ++mt)
#pragma unroll
        for (int half = 0; half < 2; ++half) {
            const float sum = quad_sum(l[mt][half]);
            const float inv = sum > 0.0f ? 1.0f / sum : 0.0f;
            const int row = warp * Tile::kWarpRows + mt * 16 + lane / 4 + half * 8;
            if (row >= rows) continue;
            ElementPair<T>* out = reinterpret_cast<ElementPair<T>*>(
                a.out + (int64_t(q_begin + row0 + row) * a.p.n_heads + head) * HeadDim);
#pragma unroll
            for (int n = 0; n < HeadDim / 8; ++n)
                out[n * 4 + lane % 4] = pair_from_floats<T>(o[mt][n][2 * half] * inv, o[mt][n][2 * half + 1] * inv);
        }
}

template <typename Tile, typename T, int HeadDim, KernelPath Path>
void launch_flash_prefill_tile(const AttentionKernelArgs<T>& args, int max_shared, cudaStream_t stream) {
    if (Tile::kSharedBytes > size_t(max_shared))
        throw Error("flash attention with head_dim " + std::to_string(HeadDim) + " on the " + kernel_path_name(Path) +
                    " path needs " + std::to_string(Tile::kSharedBytes / 1024) + " KiB of shared memory per block, " +
                    "this GPU allows " + std::to_string(max_shared / 1024) + " KiB; use --attn-backend xformers or sdp");
    auto kernel = flash_prefill_kernel<Tile, T, HeadDim, Path>;
    CUDA_CHECK(cudaFuncSetAttribute(kernel, cudaFuncAttributeMaxDynamicSharedMemorySize, int(Tile::kSharedBytes)));
    kernel<<<prefill_grid(args.p, Tile::kBlockM), Tile::kThreads, Tile::kSharedBytes, stream>>>(args);
    CUDA_CHECK_LAUNCH();
}

template <typename T, int HeadDim, KernelPath Path>
void launch_flash_prefill_path(const AttentionKernelArgs<T>& args, cudaStream_t stream) {
    int device = 0, max_shared = 0, shared_per_sm = 0;
    CUDA_CHECK(cudaGetDevice(&device));
    CUDA_CHECK(cudaDeviceGetAttribute(&max_shared, cudaDevAttrMaxSharedMemoryPerBlockOptin, device));
    CUDA_CHECK(cudaDeviceGetAttribute(&shared_per_sm, cudaDevAttrMaxSharedMemoryPerMultiprocessor, device));
    if constexpr (Path == KernelPath::TensorCoreSm80 && HeadDim == 128) {
        using Wide = FlashPrefillTile<T, HeadDim, Path, true>;
        constexpr size_t kReservedPerCta = 1024;  // the driver's share of each CTA's shared memory
        if (2 * (Wide::kSharedBytes + kReservedPerCta) <= size_t(shared_per_sm))
            return launch_flash_prefill_tile<Wide, T, HeadDim, Path>(args, max_shared, stream);
    }
    launch_flash_prefill_tile<FlashPrefillTile<T, HeadDim, Path>, T, HeadDim, Path>(args, max_shared, stream);
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
