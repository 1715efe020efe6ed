// The memory-efficient attention of xformers' CUTLASS kernel (Rabe & Staats 2021; xformers fmha
// "kernel_forward.h"), which targets GPUs without fast tensor cores: a CTA owns 64 query rows on sm80, 32
// elsewhere; per key tile it computes S = Q K^T block-wide into shared memory, runs the online softmax row by
// row there (a quad of lanes per row, max and sum by shuffles, P written over S: fp16 where tensor cores read
// it), and accumulates O = O*alpha + P V with each thread owning a 4-row sub-tile (SIMT) or each warp a
// quarter of the block (tensor cores, where present). V goes into a buffer of its own on sm80, where K and V
// copies overlap the math, and over K elsewhere.
// Unlike flash (which keeps S in registers), every step goes through shared memory, which keeps registers
// low; the footprint stays under 48 KiB on the paths of older GPUs (it runs on sm_60 as well), under 80 KiB
// on sm80.
// Limits: head_dim in ../flash/head_dim_switch.h; 16-byte aligned rows. Decode uses ../flash/flash_decode.
#include "kernels/cuda/xformers/xformers_prefill.h"

#include <string>
#include <type_traits>

#include <math_constants.h>

#include "kernels/cuda/flash/head_dim_switch.h"
#include "kernels/cuda/flash/online_softmax.cuh"
#include "kernels/cuda/flash/kv_tile_copy.cuh"
#include "kernels/cuda/flash/prefill_grid.cuh"
#include "kernels/cuda/xformers/xformers_gemm.cuh"
#include "src/cuda/check.h"

namespace attn::cuda {

namespace {

template <typename T, int HeadDim, KernelPath Path>
struct XformersTile {
    static constexpr bool kSm80 = Path == KernelPath::TensorCoreSm80;
    static constexpr bool kTensorCore = Path != KernelPath::Simt;
    static constexpr int kWarps = 4;
    static constexpr int kThreads = 32 * kWarps;
    // sm80: 64 query rows, the tile of xformers' own sm80 kernel: each K/V byte read from L2 serves twice the
    // rows of 32 (which was L2-bound), and each K/V fragment a warp reads feeds two m16 tiles. Turing and
    // SIMT keep 32 (SIMT: 16 threads per 4 rows).
    static constexpr int kBlockM = kSm80 ? 64 : 32;
    static constexpr int kMTiles = kTensorCore ? kBlockM / 32 : 1;  // m16 tiles of a warp's quadrant
    static constexpr int kBlockN = HeadDim <= 128 ? 64 : 32;
    static constexpr int kRowStride = HeadDim + 8;
    // fp32 S/P rows: +8 floats puts the mma stores and the softmax's quad reads on 32 banks, +4 the SIMT
    // row blocks.
    static constexpr int kSStride = kTensorCore ? kBlockN + 8 : kBlockN + 4;
    // sm80 copies V into a buffer of its own while S and the softmax run, and the next K while P V runs;
    // the synchronous paths load V over K.
    static constexpr bool kSeparateV = kSm80;
    static constexpr size_t kQBytes = size_t(kBlockM) * kRowStride * sizeof(T);
    static constexpr size_t kKBytes = size_t(kBlockN) * kRowStride * sizeof(T);
    static constexpr size_t kVBytes = kSeparateV ? kKBytes : 0;
    static constexpr size_t kSBytes = size_t(kBlockM) * kSStride * sizeof(float);
    static constexpr size_t kStatsBytes = 3 * kBlockM * sizeof(float);
    static constexpr size_t kSharedBytes = kQBytes + kKBytes + kVBytes + kSBytes + kStatsBytes;
    // sm80 blocks are held to the registers that let as many fit an SM as its shared memory does (228 KiB on
    // an H100, 1 KiB of it reserved a block), 4 at most: 4 at head_dim 64 and 80 (128 registers), 3 at 96 and
    // 128 (168; the q8/q4 fresh-row paths had pushed head_dim 128 to 174, 2 blocks, 12-15% slower), 2 at 256.
    // Only head_dim 80 spills at its bound (20 bytes).
    static constexpr int kBlocksByShared = int(228 * 1024 / (kSharedBytes + 1024));
    static constexpr int kMinBlocksPerSm = !kSm80 ? 1 : kBlocksByShared < 4 ? kBlocksByShared : 4;
    static_assert(kTensorCore || kThreads == 16 * kBlockM / 4, "SIMT: 16 threads per 4 rows");
    static_assert(kBlockM % (8 * kWarps) == 0, "softmax: 8 rows per warp and pass");
};

// One quad of lanes per row, 8 rows per warp and pass: mask, running max, probabilities written over the
// scores, rescale factor for O. Lane q of a quad reads the float2 columns 2q + 8i, the pattern the m16n8
// accumulators wrote them in: with a row stride of 8 mod 32 floats every half-warp hits 32 banks.
// P is fp32 in place of S for the SIMT products; for tensor cores it is the T (fp16/bf16) A operand, written
// as a row of T over the first half of the row's scores.
template <int BlockM, int BlockN, int SStride, int Warps, typename PElement, typename Args>
__device__ __forceinline__ void softmax_rows(float* s_smem, float* row_max, float* row_sum, float* row_alpha,
                                             const Args& a, bool needs_mask, int key0, int first_pos,
                                             int kv_len) {
    constexpr int kRowsPerWarp = BlockM / Warps;
    const int warp = threadIdx.x / 32, lane = threadIdx.x % 32, q = lane % 4;
#pragma unroll
    for (int pass = 0; pass < kRowsPerWarp / 8; ++pass) {
        const int r = warp * kRowsPerWarp + pass * 8 + lane / 4;
        float2* s_row = reinterpret_cast<float2*>(s_smem + r * SStride) + q;
        float2 x[BlockN / 8];
        float local_max = -CUDART_INF_F;
        const RowKeyMask mask(a.p, first_pos + r, kv_len, key0 + 2 * q);
#pragma unroll
        for (int i = 0; i < BlockN / 8; ++i) {
            x[i] = s_row[4 * i];
            if (needs_mask) {
                if (mask.hides(8 * i)) x[i].x = -CUDART_INF_F;
                if (mask.hides(8 * i + 1)) x[i].y = -CUDART_INF_F;
            }
            local_max = fmaxf(local_max, fmaxf(x[i].x, x[i].y));
        }
        const RowReference next = next_reference(row_max[r], quad_max(local_max), a.scale_log2);
        const float m_new = next.m, base = next.base, alpha = next.alpha;
        float sum = 0.0f;
        __syncwarp();  // 16-bit P: the quad's lanes have read their whole row before any of them overwrites it
#pragma unroll
        for (int i = 0; i < BlockN / 8; ++i) {
            const float2 p = make_float2(exp2_ftz(fmaf(x[i].x, a.scale_log2, -base)),
                                         exp2_ftz(fmaf(x[i].y, a.scale_log2, -base)));
            if constexpr (!std::is_same_v<PElement, float>)
                reinterpret_cast<ElementPair<PElement>*>(s_smem + r * SStride)[q + 4 * i] =
                    pair_from_floats<PElement>(p.x, p.y);
            else
                s_row[4 * i] = p;
            sum += p.x + p.y;
        }
        sum = quad_sum(sum);
        // Every lane has read row_max[r] before its quad's first lane replaces it (racecheck cannot see shuffles).
        __syncwarp();
        if (q == 0) {
            row_max[r] = m_new;
            row_sum[r] = row_sum[r] * alpha + sum;
            row_alpha[r] = alpha;
        }
    }
}

template <typename T, int HeadDim, KernelPath Path>
__global__ void __launch_bounds__(XformersTile<T, HeadDim, Path>::kThreads,
                                  XformersTile<T, HeadDim, Path>::kMinBlocksPerSm)
    xformers_prefill_kernel(const AttentionKernelArgs<T> a) {
    using Tile = XformersTile<T, HeadDim, Path>;
    extern __shared__ uint4 shared_words[];
    unsigned char* shared = reinterpret_cast<unsigned char*>(shared_words);
    T* q_smem = reinterpret_cast<T*>(shared);
    T* k_smem = reinterpret_cast<T*>(shared + Tile::kQBytes);
    T* v_smem = Tile::kSeparateV ? k_smem + Tile::kBlockN * Tile::kRowStride : k_smem;
    float* s_smem = reinterpret_cast<float*>(shared + Tile::kQBytes + Tile::kKBytes + Tile::kVBytes);
    float* row_max = s_smem + Tile::kBlockM * Tile::kSStride;
    float* row_sum = row_max + Tile::kBlockM;
    float* row_alpha = row_sum + Tile::kBlockM;

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

    const T* q_rows = a.q + (int64_t(q_begin + row0) * a.p.n_heads + head) * HeadDim;
    const int kv_head = head / a.group;
    auto load_k_tile = [&](int tile) {
        const int key0 = tile * Tile::kBlockN;
        load_kv_rows<HeadDim, Tile::kRowStride, Tile::kThreads, Path, false>(k_smem, a.kv, a.p, seq, kv_head, key0,
                                                                             Tile::kBlockN, keys.end - key0);
    };
    auto load_v_tile = [&](int tile) {
        const int key0 = tile * Tile::kBlockN;
        load_kv_rows<HeadDim, Tile::kRowStride, Tile::kThreads, Path, true>(v_smem, a.kv, a.p, seq, kv_head, key0,
                                                                            Tile::kBlockN, keys.end - key0);
    };
    load_rows<HeadDim, Tile::kRowStride, Tile::kThreads, Path>(q_smem, q_rows, int64_t(a.p.n_heads) * HeadDim,
                                                               Tile::kBlockM, rows);
    mma::copy_commit<Path>();
    if constexpr (Tile::kSeparateV) {
        if (tile_first < tile_end) load_k_tile(tile_first);
        mma::copy_commit<Path>();
    }
    if (threadIdx.x < Tile::kBlockM) {
        row_max[threadIdx.x] = -CUDART_INF_F;
        row_sum[threadIdx.x] = 0.0f;
    }

    using PElement = std::conditional_t<Tile::kTensorCore, T, float>;  // see softmax_rows
    float o[Tile::kMTiles][HeadDim / 16][4] = {};  // either layout holds a quarter of kBlockM x HeadDim per warp
    for (int tile = tile_first; tile < tile_end; ++tile) {
        if constexpr (!Tile::kSeparateV) {
            load_k_tile(tile);
            mma::copy_commit<Path>();
        }
        mma::copy_wait<Path, 0>();  // K of this tile
        __syncthreads();            // ... and every warp is done with the previous tile's P V
        if constexpr (Tile::kSeparateV) {
            load_v_tile(tile);  // in flight during S and the softmax
            mma::copy_commit<Path>();
        }
        if constexpr (Tile::kTensorCore)
            xformers::scores_tensor_core<Path, T, HeadDim, Tile::kBlockM, Tile::kBlockN, Tile::kRowStride,
                                         Tile::kSStride>(s_smem, q_smem, k_smem);
        else
            xformers::scores_simt<T, HeadDim, Tile::kBlockN, Tile::kRowStride, Tile::kSStride>(s_smem, q_smem, k_smem);
        __syncthreads();  // S is complete and K no longer read
        if constexpr (Tile::kSeparateV) {
            if (tile + 1 < tile_end) load_k_tile(tile + 1);  // in flight during the softmax and P V
        } else {
            load_v_tile(tile);  // over K; on sm75 and SIMT a synchronous copy
        }
        mma::copy_commit<Path>();
        const int key0 = tile * Tile::kBlockN;
        const bool needs_mask = !tile_fully_visible(a.p, key0, Tile::kBlockN, first_pos, last_pos, kv_len);
        softmax_rows<Tile::kBlockM, Tile::kBlockN, Tile::kSStride, Tile::kWarps, PElement>(
            s_smem, row_max, row_sum, row_alpha, a, needs_mask, key0, first_pos, kv_len);
        mma::copy_wait<Path, Tile::kSeparateV ? 1 : 0>();  // V of this tile (the next K may still be in flight)
        __syncthreads();
        if constexpr (Tile::kTensorCore)
            xformers::accumulate_pv_tensor_core<Path, T, HeadDim, Tile::kBlockM, Tile::kBlockN, Tile::kRowStride,
                                                Tile::kSStride>(o, reinterpret_cast<const T*>(s_smem),
                                                                row_alpha, v_smem);
        else
            xformers::accumulate_pv_simt<T, HeadDim, Tile::kBlockN, Tile::kRowStride, Tile::kSStride>(o[0], s_smem,
                                                                                                  row_alpha, v_smem);
        if constexpr (!Tile::kSeparateV) __syncthreads();  // the next K overwrites V
    }
    mma::copy_wait<Path, 0>();  // no copy outlives the CTA (Q's is still pending when there was no tile)
    __syncthreads();            // row_sum is final (also when there was no tile)

    auto store = [&](int row, int col, float value) {
        if (row >= rows) return;
        const float sum = row_sum[row];
        a.out[(int64_t(q_begin + row0 + row) * a.p.n_heads + head) * HeadDim + col] =
            from_float<T>(sum > 0.0f ? value / sum : 0.0f);
    };
    if constexpr (Tile::kTensorCore) {
        const xformers::WarpQuadrant<Tile::kBlockM> w;
        const int lane = threadIdx.x % 32;
        const int r = w.row0 + lane / 4, c = w.n_half * (HeadDim / 2) + 2 * (lane % 4);
#pragma unroll
        for (int mt = 0; mt < Tile::kMTiles; ++mt)
#pragma unroll
            for (int n = 0; n < HeadDim / 16; ++n)
#pragma unroll
                for (int i = 0; i < 4; ++i) store(r + mt * 16 + (i / 2) * 8, c + n * 8 + i % 2, o[mt][n][i]);
    } else {
        const int rb = threadIdx.x / 16, cb = threadIdx.x % 16;
#pragma unroll
        for (int i = 0; i < 4; ++i)
#pragma unroll
            for (int k = 0; k < HeadDim / 16; ++k) store(rb * 4 + i, cb + 16 * k, o[0][k][i]);
    }
}

template <typename T, int HeadDim, KernelPath Path>
void launch_path(const AttentionKernelArgs<T>& args, cudaStream_t stream) {
    using Tile = XformersTile<T, HeadDim, Path>;
    auto kernel = xformers_prefill_kernel<T, HeadDim, Path>;
    CUDA_CHECK(cudaFuncSetAttribute(kernel, cudaFuncAttributeMaxDynamicSharedMemorySize, int(Tile::kSharedBytes)));
    kernel<<<prefill_grid(args.p, Tile::kBlockM), Tile::kThreads, Tile::kSharedBytes, stream>>>(args);
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
