// Flash-decoding (Dao et al. 2023): the KV length of each sequence is split across CTAs; a CTA serves all
// query heads of one kv head (the GQA group, up to 8 at a time) from a single read of its K/V slice, and
// writes a partial (max, sum, unnormalised output) per head; a second small kernel merges the splits.
// Memory-bound by design: each K/V byte is read once straight into registers, a key row is spread over
// 8/16/32 lanes (8 elements each), and every group of lanes runs its own online softmax, so the key loop has
// no block-wide synchronisation. Any head_dim of head_dim_switch.h, any arch.
// Every cache arrangement and format runs the same loop, instantiated per (arrangement, format): where a
// lane's codes are (decode_kv_rows.cuh: strided rows, or blocks) and what they hold (decode_kv_lanes.cuh:
// codes of 16/8/4 bytes for fp16/q8/q4, their scale applied once per dot product or softmax weight). A warp
// takes whole groups of 32 keys, half a q4 key group, so that q4 keys load their channel scales and minimums
// once a group. q4 values are accumulated rotated and the output row is rotated back once (here or in the
// merge), as o = Hᵀ Σ p·v' allows.
#include "kernels/cuda/flash/flash_decode.h"

#include <algorithm>
#include <cstddef>
#include <string>

#include <math_constants.h>

#include "kernels/cuda/current_device.h"
#include "kernels/cuda/dependent_launch.cuh"
#include "kernels/cuda/flash/decode_kv_lanes.cuh"
#include "kernels/cuda/flash/decode_kv_rows.cuh"
#include "kernels/cuda/flash/decode_mma.cuh"
#include "kernels/cuda/flash/head_dim_switch.h"
#include "kernels/cuda/flash/kernel_path.h"
#include "kernels/cuda/flash/online_softmax.cuh"
#include "kernels/cuda/kv_format.cuh"
#include "kernels/cuda/kv_hadamard.cuh"
#include "src/cuda/check.h"

namespace attn::cuda {

namespace {

constexpr int kDecodeWarps = 4;
constexpr int kDecodeThreads = 32 * kDecodeWarps;
constexpr int kMaxHeadsPerCta = 8;
constexpr int kKeyGroup = cpu::kKvGroup;  // keys a warp takes at a time
constexpr int kSplitAlign = cpu::kQ4KeyGroup;  // splits hold whole q4 key groups: a pending group is one CTA's
constexpr int kMinKeysPerSplit = 128;     // below this a split costs more in merging than it gains
constexpr int kMaxSplits = 64;  // splits streaming keys; q4 may add its pending split (DecodePlan)
// flash_decode_mma_kernel's shared-memory stages per warp (groups of 32 keys; all but one in flight while one
// is computed) and the CTAs an SM must hold (registers at most 65536 / (128 · CTAs)). Measured at 32k keys on
// the H100, contiguous and paged by 32 (2/3/4 stages): q8 1.55/1.61/1.60x and 1.53/1.53/1.49x fp16; q4 at four
// CTAs an SM with two stages 2.00x and 1.94x, three stages (three CTAs, shared memory allowing) 2.02x and 1.88x.
template <KvFormat F>
constexpr int kMmaDecodeStages = F == KvFormat::Q8 ? 3 : 2;
template <KvFormat F>
constexpr int kMmaDecodeCtasPerSm = F == KvFormat::Q8 ? 2 : 4;
// flash_decode_mma_kernel's lazy softmax reference: set this far (log2 units) above the largest score seen, so
// that later scores rarely pass it (only then is the state rescaled), while weights stay at most 1 (no fp16
// overflow in P · value scale) and those within 10 of the reference stay normal fp16 numbers.
constexpr float kReferenceHeadroom = 4.0f;

// Keys each lane group loads before using any: the bytes in flight. q8/q4 keys carry 2x/4x fewer bytes than
// fp16 ones, so they keep up to 4x more keys in flight, as far as registers allow (8 heads: query and
// accumulators take 128). With 4 heads, 16 keys take 255 registers (head_dim 128, sm_90; q8 with 8 keys:
// 176), 2 CTAs per SM either way, which plan_splits accounts for: twice the bytes in flight for nothing.
// head_dim 256 (a key per warp) spills with as many: half. A step never crosses a group of 32 keys.
template <KvFormat F, int Heads, int KeysPerWarp>
struct KeysInFlight {
    static constexpr int kWanted = F == KvFormat::F16 ? 4 : Heads <= 4 ? 16 : F == KvFormat::Q8 ? 4 : 8;
    static constexpr int kFits = KeysPerWarp == 1 && Heads * kWanted >= 64 ? kWanted / 2 : kWanted;
    static constexpr int value = kFits * KeysPerWarp <= kKeyGroup ? kFits : kKeyGroup / KeysPerWarp;
};
constexpr int kScoreBatch = 4;  // keys scored per online-softmax update: the scores' registers

constexpr int log2_of(int power_of_two) { return power_of_two <= 1 ? 0 : 1 + log2_of(power_of_two / 2); }

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

struct DecodePlan {
    float2* max_sum = nullptr;  // [batch][n_heads][splits]: (m in log2 units, l)
    float* acc = nullptr;       // [batch][n_heads][splits][head_dim], unnormalised
    int splits = 1;
    int keys_per_split = 0;  // a multiple of kSplitAlign
    // q4 with several splits: one more split, the last, takes the unfinished key group (its exact rows) alone,
    // so that no CTA streaming codes waits for them as well (the slowest CTA sets the call's pace: at 32800
    // keys the pending rows in a coded split cost q4 2.50x -> 2.36x fp16).
    bool pending_split = false;
    int block_shift = 0;     // blocks: BlockKvRows's block_shift
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

// The query row's 8 elements of this lane for each head, in log2 units (scores come out ready for exp2).
template <typename T, int HeadDim, int Heads>
__device__ __forceinline__ void load_query(const AttentionKernelArgs<T>& a, int q_row, int head0, int heads, int d0,
                                           bool lane_active, float (&q)[Heads][8]) {
#pragma unroll
    for (int h = 0; h < Heads; ++h) {
        const T* q_head = a.q + (int64_t(q_row) * a.p.n_heads + head0 + min(h, heads - 1)) * HeadDim;
        unpack8<T>(lane_active ? *reinterpret_cast<const uint4*>(q_head + d0) : make_uint4(0, 0, 0, 0), q[h]);
#pragma unroll
        for (int i = 0; i < 8; ++i) q[h][i] *= a.scale_log2;
    }
}

// A lane's share of the decode: its query elements and online-softmax state.
template <int Heads>
struct DecodeLaneState {
    float q[Heads][8];
    float m[Heads], l[Heads], acc[Heads][8];
};

// q4 keys: the lane's channel scales and minimums of the group that starts at group_first (in block).
template <int HeadDim, typename Rows>
__device__ __forceinline__ KeyChannels load_key_channels(const Rows& rows, const uint8_t* block, int group_first,
                                                         bool lane_active) {
    KeyChannels channels;
    const __half* scales = rows.channel_scales(block, group_first);
    const uint4 zero = make_uint4(0, 0, 0, 0);  // fp16 parameters whatever the model's type:
    unpack8<__half>(lane_active ? __ldg(reinterpret_cast<const uint4*>(scales)) : zero, channels.scale);
    unpack8<__half>(lane_active ? __ldg(reinterpret_cast<const uint4*>(scales + HeadDim)) : zero, channels.minimum);
    return channels;
}

// One step of a warp: Keys keys per lane group loaded before any is used (bytes in flight), then scored and
// folded into the online softmax kScoreBatch at a time, so that later keys' loads stay in flight meanwhile.
// Keys outside [key_begin, key_end) are masked; span_block: Rows::span_block of the step's keys; channels:
// the group's, for q4 keys. Pending: q4 keys and values of the unfinished group, read from kv's pending buffers.
template <typename KeyLane, typename ValueLane, int Keys, int KeysPerWarp, int LanesPerKey, bool Pending,
          int Heads, typename Rows>
__device__ __forceinline__ void decode_step(const KvCacheView& kv, const Rows& rows, const uint8_t* span_block,
                                            int step, int key_begin, int key_end, int group_in_warp,
                                            bool lane_active, const KeyChannels& channels,
                                            DecodeLaneState<Heads>& st) {
    KeyLane k_raw[Keys];
    ValueLane v_raw[Keys];
    bool valid[Keys];
#pragma unroll
    for (int u = 0; u < Keys; ++u) {
        const int key = step + u * KeysPerWarp + group_in_warp;
        valid[u] = key >= key_begin && key < key_end;
        if (valid[u] && lane_active) {
            if constexpr (Pending) {
                k_raw[u].fetch(rows.pending_row(kv, key, false));
                v_raw[u].fetch(rows.pending_row(kv, key, true));
            } else {
                const KvLaneAddress at = rows.locate(key, span_block);
                k_raw[u].fetch(at.k_codes, at.k_scale);
                v_raw[u].fetch(at.v_codes, at.v_scale);
            }
        } else {
            k_raw[u].zero();
            v_raw[u].zero();
        }
    }
    constexpr int kBatch = Keys < kScoreBatch ? Keys : kScoreBatch;
#pragma unroll
    for (int first = 0; first < Keys; first += kBatch) {
        float s[kBatch][Heads];
#pragma unroll
        for (int b = 0; b < kBatch; ++b) {
            const int u = first + b;
            float k[8];
            if constexpr (KeyLane::kByChannel)
                k_raw[u].decode(k, channels);
            else
                k_raw[u].decode(k);
#pragma unroll
            for (int h = 0; h < Heads; ++h) {
                float dot = 0.0f;
#pragma unroll
                for (int i = 0; i < 8; ++i) dot = fmaf(st.q[h][i], k[i], dot);
                if constexpr (KeyLane::kScaled) dot *= k_raw[u].scale();
#pragma unroll
                for (int offset = LanesPerKey / 2; offset > 0; offset /= 2)
                    dot += __shfl_xor_sync(0xffffffffu, dot, offset);
                s[b][h] = valid[u] ? dot : -CUDART_INF_F;
            }
        }
        float base[Heads];
#pragma unroll
        for (int h = 0; h < Heads; ++h) {
            float batch_max = s[0][h];
#pragma unroll
            for (int b = 1; b < kBatch; ++b) batch_max = fmaxf(batch_max, s[b][h]);
            const float m_new = fmaxf(st.m[h], batch_max);
            base[h] = m_new == -CUDART_INF_F ? 0.0f : m_new;
            const float alpha = exp2_ftz(st.m[h] - base[h]);
            st.m[h] = m_new;
            st.l[h] *= alpha;
#pragma unroll
            for (int i = 0; i < 8; ++i) st.acc[h][i] *= alpha;
        }
#pragma unroll
        for (int b = 0; b < kBatch; ++b) {
            const int u = first + b;
            float v[8];
            v_raw[u].decode(v);
            const float v_scale = v_raw[u].scale();
#pragma unroll
            for (int h = 0; h < Heads; ++h) {
                const float p = exp2_ftz(s[b][h] - base[h]);
                st.l[h] += p;
                const float weight = ValueLane::kScaled ? p * v_scale : p;
#pragma unroll
                for (int i = 0; i < 8; ++i) st.acc[h][i] = fmaf(weight, v[i], st.acc[h][i]);
            }
        }
    }
}

// What a split-K CTA takes (grid: splits x kv heads · head chunks x sequences), Heads query heads at most:
// its sequence and split, the kv head and its query heads [head0, head0 + heads), the query row, and the keys
// [split_begin, split_end), of which those before key_first are outside the window.
struct DecodeCta {
    int seq, split, kv_head, head0, heads, q_row, kv_len, key_first, split_begin, split_end;
};

template <int Heads, typename T>
__device__ __forceinline__ DecodeCta decode_cta(const AttentionKernelArgs<T>& a, const DecodePlan& plan) {
    DecodeCta cta;
    cta.seq = blockIdx.z;
    cta.split = blockIdx.x;
    const int head_chunks = (a.group + Heads - 1) / Heads;
    cta.kv_head = blockIdx.y / head_chunks;
    cta.head0 = cta.kv_head * a.group + (blockIdx.y % head_chunks) * Heads;
    cta.heads = min(Heads, cta.kv_head * a.group + a.group - cta.head0);
    cta.q_row = a.p.q_offsets[cta.seq];
    cta.kv_len = a.p.kv_lens[cta.seq];
    cta.key_first = a.p.window > 0 ? max(0, cta.kv_len - a.p.window) : 0;  // the query sits at kv_len - 1
    // Splits start on q4 key groups (kv_quant.h), so that each holds whole groups of kKeyGroup for its warps
    // and q4's unfinished group lies in one split.
    cta.split_begin = cta.key_first / kSplitAlign * kSplitAlign + cta.split * plan.keys_per_split;
    cta.split_end = min(cta.kv_len, cta.split_begin + plan.keys_per_split);
    if (plan.pending_split) {
        const int pending_first = cpu::kv_pending_first(cta.kv_len);
        const bool last = cta.split == plan.splits - 1;
        cta.split_begin = last ? pending_first : cta.split_begin;
        cta.split_end = last ? cta.kv_len : min(cta.split_end, pending_first);
    }
    return cta;
}

// Asks the L2 for the CTA's query rows before the wait for the kernel that writes them: a hint, with no effect
// on what the loads after the wait read, so that those loads find the rows in the L2 also where the previous
// kernel left them no longer there (the bench streams a 40 MB cache through the L2 between two calls on one
// query). Thread i takes the rows' i-th 128-byte line. At 32k keys on the H100: fp16 -0.4 us, q4 -0.2 us.
template <typename T, int HeadDim>
__device__ __forceinline__ void prefetch_query_rows(const AttentionKernelArgs<T>& a, const DecodeCta& cta) {
    const uintptr_t rows = reinterpret_cast<uintptr_t>(a.q + (int64_t(cta.q_row) * a.p.n_heads + cta.head0) * HeadDim);
    const uintptr_t first = rows / 128, last = (rows + cta.heads * HeadDim * sizeof(T) - 1) / 128;
    if (first + threadIdx.x <= last) asm volatile("prefetch.global.L2 [%0];" ::"l"((first + threadIdx.x) * 128));
}

// A CTA's last step, once every warp has put its online-softmax state in shared memory (warp_max_sum: m in
// log2 units and l; warp_acc: the unnormalised output rows): merged, then the output rows written (one split;
// q4 rows rotated back) or the CTA's partial for the merge kernel.
template <typename T, int HeadDim, int Heads, KvFormat F>
__device__ __forceinline__ void finish_decode_cta(const AttentionKernelArgs<T>& a, const DecodePlan& plan,
                                                  const DecodeCta& cta,
                                                  const float (&warp_max_sum)[kDecodeWarps][Heads][2],
                                                  const float (&warp_acc)[kDecodeWarps][Heads][HeadDim]) {
    __shared__ float rotated_out[F == KvFormat::Q4 ? Heads : 1][HeadDim];  // q4, one split: rows to rotate back
    for (int idx = threadIdx.x; idx < cta.heads * HeadDim; idx += kDecodeThreads) {
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
        const int head = cta.head0 + h;
        if (plan.splits == 1) {
            const float value = l_all > 0 ? acc_all / l_all : 0.0f;
            if constexpr (F == KvFormat::Q4)
                rotated_out[h][d] = value;
            else
                a.out[(int64_t(cta.q_row) * a.p.n_heads + head) * HeadDim + d] = from_float<T>(value);
        } else {
            const int64_t slot = (int64_t(cta.seq) * a.p.n_heads + head) * plan.splits + cta.split;
            plan.acc[slot * HeadDim + d] = acc_all;
            if (d == 0) plan.max_sum[slot] = make_float2(m_all, l_all);
        }
    }
    if constexpr (F == KvFormat::Q4) {
        if (plan.splits > 1) return;  // the merge rotates
        __syncthreads();
        const int warp = threadIdx.x / 32, lane = threadIdx.x % 32;
        for (int h = warp; h < cta.heads; h += kDecodeWarps) {
            unrotate_row_in_warp<HeadDim>(rotated_out[h]);
            __syncwarp();
            for (int d = lane; d < HeadDim; d += 32)
                a.out[(int64_t(cta.q_row) * a.p.n_heads + cta.head0 + h) * HeadDim + d] =
                    from_float<T>(rotated_out[h][d]);
        }
    }
}

// The CTAs an SM that flash_decode_kernel's registers must leave room for (at most 65536 / (128 · CTAs) each):
// fp16 rows with up to 4 heads four; q8/q4 codes with one head (MHA models) three, which they took 175-198
// registers for without the bound (two CTAs; with it, q4 at 32k keys and 32 kv heads ran 0.122 -> 0.109 ms on
// the H100, SIMT path forced); the others as many as their registers allow.
template <KvFormat F, int Heads>
constexpr int kDecodeMinCtasPerSm = F == KvFormat::F16 ? (Heads <= 4 ? 4 : 1) : Heads == 1 ? 3 : 1;

template <typename T, int HeadDim, int Heads, KvFormat F, typename Rows>
__global__ void __launch_bounds__(kDecodeThreads, kDecodeMinCtasPerSm<F, Heads>)
    flash_decode_kernel(const AttentionKernelArgs<T> a, DecodePlan plan) {
    using Lanes = DecodeLanes<HeadDim>;
    // Lengths and block tables are read before the wait for the previous kernel (flash_decode_mma_kernel
    // says why that is safe); the query and the cache rows after it.
    const DecodeCta cta = decode_cta<Heads>(a, plan);

    const int warp = threadIdx.x / 32, lane = threadIdx.x % 32;
    const int chunk = lane % Lanes::kLanesPerKey, group_in_warp = lane / Lanes::kLanesPerKey;
    const bool lane_active = chunk < Lanes::kChunks;
    const int d0 = chunk * 8;
    const Rows rows(a.kv, cta.seq, cta.kv_head, HeadDim, d0, plan.block_shift);

    using KeyLane = DecodeLane<T, F, false>;
    using ValueLane = DecodeLane<T, F, true>;
    constexpr int kKeys = KeysInFlight<F, Heads, Lanes::kKeysPerWarp>::value;
    constexpr int kStep = Lanes::kKeysPerWarp * kKeys;
    static_assert(kKeyGroup % kStep == 0, "a step must not cross a group of 32 keys");
    // q4 keys and values of the unfinished group come from the pending buffers, the others as codes.
    // The warp's steps: kStep keys at a time through its groups (every kDecodeWarps-th). Each step's block is
    // looked up one step ahead, so that a paged cache's table load is off the step's chain of loads.
    const int pending_first = F == KvFormat::Q4 ? kv_pending_first(cta.kv_len) : cta.kv_len;
    const int coded_end = min(cta.split_end, pending_first);
    constexpr int kSpanShift = log2_of(kStep);
    int step = cta.split_begin + warp * kKeyGroup;
    const uint8_t* span_block = step < coded_end ? rows.span_block(step, kSpanShift) : nullptr;
    prefetch_query_rows<T, HeadDim>(a, cta);
    wait_for_previous_kernel();
    allow_next_kernel();  // the merge, or the output projection's GEMV, which starts loading weights

    DecodeLaneState<Heads> st;
    load_query<T, HeadDim, Heads>(a, cta.q_row, cta.head0, cta.heads, d0, lane_active, st.q);
#pragma unroll
    for (int h = 0; h < Heads; ++h) {
        st.m[h] = -CUDART_INF_F;
        st.l[h] = 0.0f;
#pragma unroll
        for (int i = 0; i < 8; ++i) st.acc[h][i] = 0.0f;
    }
    KeyChannels channels;  // read by q4 keys only
    while (step < coded_end) {
        if constexpr (F == KvFormat::Q4)
            if (step % kKeyGroup == 0) channels = load_key_channels<HeadDim>(rows, span_block, step, lane_active);
        const int next = (step + kStep) % kKeyGroup ? step + kStep : step + kStep + (kDecodeWarps - 1) * kKeyGroup;
        const uint8_t* next_block = next < coded_end ? rows.span_block(next, kSpanShift) : nullptr;
        decode_step<KeyLane, ValueLane, kKeys, Lanes::kKeysPerWarp, Lanes::kLanesPerKey, false>(
            a.kv, rows, span_block, step, cta.key_first, coded_end, group_in_warp, lane_active, channels, st);
        step = next;
        span_block = next_block;
    }
    if constexpr (F == KvFormat::Q4) {
        // The pending group (at most one per sequence) is shared by the warps, a few fp32 keys at a time (a key
        // and its value cost 16 registers): one warp alone would take more round trips than its share of codes.
        constexpr int kPendingKeys = 2, kShare = cpu::kQ4KeyGroup / kDecodeWarps;
        static_assert(kShare % (Lanes::kKeysPerWarp * kPendingKeys) == 0, "pending steps must not cross shares");
        const int first = pending_first + warp * kShare, end = min(first + kShare, cta.split_end);
        constexpr int kPendingStep = Lanes::kKeysPerWarp * kPendingKeys;
        if (pending_first >= cta.split_begin)
            for (int pending_step = first; pending_step < end; pending_step += kPendingStep)
                decode_step<PendingRowLane, PendingRowLane, kPendingKeys, Lanes::kKeysPerWarp, Lanes::kLanesPerKey,
                            true>(a.kv, rows, nullptr, pending_step, cta.key_first, end, group_in_warp, lane_active,
                                  KeyChannels{}, st);
    }
    // Lane groups of a warp hold the same chunk of different keys: merge them by shuffles...
#pragma unroll
    for (int offset = Lanes::kLanesPerKey; offset < 32; offset *= 2)
#pragma unroll
        for (int h = 0; h < Heads; ++h) {
            float acc_other[8];
#pragma unroll
            for (int i = 0; i < 8; ++i) acc_other[i] = __shfl_xor_sync(0xffffffffu, st.acc[h][i], offset);
            const float m_other = __shfl_xor_sync(0xffffffffu, st.m[h], offset);
            const float l_other = __shfl_xor_sync(0xffffffffu, st.l[h], offset);
            merge_softmax_state(st.m[h], st.l[h], st.acc[h], m_other, l_other, acc_other, 8);
        }
    // ...then the warps through shared memory.
    __shared__ float warp_max_sum[kDecodeWarps][Heads][2];
    __shared__ float warp_acc[kDecodeWarps][Heads][HeadDim];
    if (lane < Lanes::kLanesPerKey && lane_active)
#pragma unroll
        for (int h = 0; h < Heads; ++h) {
#pragma unroll
            for (int i = 0; i < 8; ++i) warp_acc[warp][h][chunk * 8 + i] = st.acc[h][i];
            if (chunk == 0) {
                warp_max_sum[warp][h][0] = st.m[h];
                warp_max_sum[warp][h][1] = st.l[h];
            }
        }
    __syncthreads();
    finish_decode_cta<T, HeadDim, Heads, F>(a, plan, cta, warp_max_sum, warp_acc);
}

// Tensor-core decode of q8/q4 caches on the sm80 path, head_dim 64 and 128 (decode_mma.cuh): the splits, the
// warps' order over groups of 32 keys and the CTA's finish of flash_decode_kernel, 8 query heads per CTA.
// Each warp copies its next groups while it computes the current one (kMmaDecodeStages stages in dynamic
// shared memory), kMmaDecodeCtasPerSm CTAs an SM.
template <typename T, int HeadDim, KvFormat F>
__global__ void __launch_bounds__(kDecodeThreads, kMmaDecodeCtasPerSm<F>)
    flash_decode_mma_kernel(const AttentionKernelArgs<T> a, DecodePlan plan) {
    using namespace decode_mma;
    using Sh = Shape<F, HeadDim>;
    using Tiles = ValueTiles<F>;
    using StageT = Stage<F, HeadDim>;
    constexpr KernelPath kPath = KernelPath::TensorCoreSm80;
    constexpr int kSlices = HeadDim / 16, kOutputTiles = HeadDim / 16, kQueryValues = HeadDim / 4;
    constexpr int kMmaStages = kMmaDecodeStages<F>;
    extern __shared__ __align__(16) uint8_t dynamic_shared[];
    const DecodeCta cta = decode_cta<kHeadRows>(a, plan);
    // q4 keys and values of the unfinished group come from the pending buffers, after the coded groups.
    const int pending_first = F == KvFormat::Q4 ? kv_pending_first(cta.kv_len) : cta.kv_len;
    const int coded_end = min(cta.split_end, pending_first);

    const int warp = threadIdx.x / 32, lane = threadIdx.x % 32;
    const int g = lane / 4, t = lane % 4;  // the lane's fragment coordinates (mma.cuh): g of 8, pair t
    StageT* stages = reinterpret_cast<StageT*>(dynamic_shared) + kMmaStages * warp;
    const uint32_t stages_at = mma::shared_address(stages);  // stage s at stages_at + s · sizeof(StageT)
    const BlockKvRows<F> rows(a.kv, cta.seq, cta.kv_head, HeadDim, 0, plan.block_shift);
    const LaneChunks<Sh::kChunks> lane_chunks(lane);

    // Copies group [first, first + 32) into stage `to` (its shared address): key and value codes with their
    // row scales (q8) or channel parameters (q4); nothing for q4's unfinished group, read from the pending
    // buffers. block: the group's (span_block), or null where it spans several.
    const auto copy_group = [&](int first, const uint8_t* block, uint32_t to) {
        if (F == KvFormat::Q4 && first >= pending_first) return;
        constexpr int kScaleBytes = Sh::kGroups * int(sizeof(__half));  // q8: a row's scales
        constexpr uint32_t kK = offsetof(StageT, k), kV = offsetof(StageT, v);
        constexpr uint32_t kKScales = offsetof(StageT, k_scales), kVScales = offsetof(StageT, v_scales);
        if (block && first >= cta.key_first && first + kKeys <= cta.split_end) {
            // q8/q4 rows are stored head by head (kv_quant.h): a group inside one block, wholly visible, is one
            // run of bytes per operand, 512 of them a step of the warp.
            const KvLaneAddress start = rows.locate(first, block);
            const uint8_t* k_codes = start.k_codes + 16 * lane;
            const uint8_t* v_codes = start.v_codes + 16 * lane;
#pragma unroll
            for (int i = 0; i < kKeys * Sh::kChunks / 32; ++i) {
                const uint32_t chunk = to + lane_chunks.chunk_offset(i);
                copy_async(chunk + kK, k_codes + 512 * i, 16, true);
                copy_async(chunk + kV, v_codes + 512 * i, 16, true);
            }
            if constexpr (F == KvFormat::Q8) {
                copy_async(to + kKScales + lane * kScaleBytes, start.k_scale + lane * Sh::kGroups, kScaleBytes, true);
                copy_async(to + kVScales + lane * kScaleBytes, start.v_scale + lane * Sh::kGroups, kScaleBytes, true);
            } else if (lane < int(sizeof(StageT::v_scales)) / 16) {  // q4: one scale a row, 64 bytes a group
                copy_async(to + kVScales + 16 * lane, start.v_scale + 8 * lane, 16, true);
            }
        } else {
            // Row by row; positions outside [key_first, split_end) become zeros (their scores are masked).
            const auto address = [&](int row, bool& valid) {
                const int pos = first + row;
                valid = pos >= cta.key_first && pos < cta.split_end;
                return rows.locate(valid ? pos : max(first, cta.key_first), block);
            };
#pragma unroll
            for (int i = lane; i < kKeys * Sh::kChunks; i += 32) {
                const int row = i / Sh::kChunks, chunk = i % Sh::kChunks;
                const uint32_t offset = to + swizzled<Sh::kChunks>(row, chunk);
                bool valid;
                const KvLaneAddress at = address(row, valid);
                copy_async(offset + kK, at.k_codes + 16 * chunk, 16, valid);
                copy_async(offset + kV, at.v_codes + 16 * chunk, 16, valid);
            }
            bool valid;
            const KvLaneAddress at = address(lane, valid);
            if constexpr (F == KvFormat::Q8) {
                copy_async(to + kKScales + lane * kScaleBytes, at.k_scale, kScaleBytes, valid);
                copy_async(to + kVScales + lane * kScaleBytes, at.v_scale, kScaleBytes, valid);
            } else {  // q4: a row's one scale, 2 bytes, below what cp.async copies; a window's edge only
                stages[(to - stages_at) / sizeof(StageT)].v_scales[lane][0] = valid ? *at.v_scale : __float2half(0.0f);
            }
        }
        if constexpr (F == KvFormat::Q4) {
            const uint8_t* channels = reinterpret_cast<const uint8_t*>(rows.channel_scales(block, first));
            constexpr int kChannelChunks = int(sizeof(StageT::channels)) / 16;
            for (int i = lane; i < kChannelChunks; i += 32)
                copy_async(to + uint32_t(offsetof(StageT, channels)) + 16 * i, channels + 16 * i, 16, true);
        }
    };

    // Heads 2t and 2t+1: their softmax references (log2 units, see below) and the lane's share of their sums.
    float m[2] = {-CUDART_INF_F, -CUDART_INF_F}, l[2] = {};
    float o[kOutputTiles][4] = {};  // unnormalised output, transposed: rows g, g+8 x heads 2t, 2t+1
    // kMmaStages - 1 groups in flight while one is computed.
    constexpr int kStride = kDecodeWarps * kKeys;
    int group = cta.split_begin + warp * kKeys;
    const auto group_block = [&](int first) { return first < cta.split_end ? rows.span_block(first, 5) : nullptr; };
    // Launched early (dependent launch), the kernel starts its first copies before it waits for the kernel
    // before it: the lengths and block tables are the step's inputs, copied in before the chain's first kernel
    // ran; the kernel before (the QKV/RoPE write, or q4's key-group encoder after it, which starts this one
    // only by ending) writes only the group of the newest key (its row; for q4 the group's codes once it is
    // complete), and lets this kernel start only after its own wait, when every earlier kernel has ended. (A
    // previous call's merge, as in the bench, lets it start sooner, while that call's decode may still run:
    // it only reads the cache.)
    // Blocks are looked up a group early, so that a paged cache's table load is off the copies' path.
    const int stable_end = (cta.kv_len - 1) / kKeys * kKeys;  // keys before the newest key's group
    const uint8_t* first_blocks[kMmaStages];
#pragma unroll
    for (int ahead = 0; ahead < kMmaStages; ++ahead) first_blocks[ahead] = group_block(group + ahead * kStride);
    // Copies the first group of stage `ahead` if it is stable (before the wait) or not (after it); the stable
    // groups are a prefix of the stages, so the commit groups keep the stages' order either way.
    const auto copy_first = [&](int ahead, bool stable) {
        const int first = group + ahead * kStride;
        if ((first + kKeys <= stable_end) != stable) return;
        if (first < cta.split_end) copy_group(first, first_blocks[ahead], stages_at + ahead * sizeof(StageT));
        mma::copy_commit<kPath>();
    };
    prefetch_query_rows<T, HeadDim>(a, cta);
#pragma unroll
    for (int ahead = 0; ahead < kMmaStages - 1; ++ahead) copy_first(ahead, true);
    wait_for_previous_kernel();
    allow_next_kernel();
#pragma unroll
    for (int ahead = 0; ahead < kMmaStages - 1; ++ahead) copy_first(ahead, false);
    const uint8_t* ahead_block = first_blocks[kMmaStages - 1];
    // Head g's query values at the lane's elements, in log2 units (zero for heads past the CTA's): loaded
    // once the first groups' copies are in flight, which they would otherwise wait for.
    float q[kQueryValues];
    const T* q_head = a.q + (int64_t(cta.q_row) * a.p.n_heads + cta.head0 + min(g, cta.heads - 1)) * HeadDim;
    load_lane_query<F, HeadDim>(q_head, t, a.scale_log2, g < cta.heads, q);
    // The query's B fragments: head g's pairs at k positions 2t.. and 2t+8.. of each slice.
    uint32_t q_frag[kSlices][2];
#pragma unroll
    for (int slice = 0; slice < kSlices; ++slice) {
        float low[2], high[2];
        slice_pairs<F>(q, slice, low, high);
        q_frag[slice][0] = pack_pair(low[0], low[1]);
        q_frag[slice][1] = pack_pair(high[0], high[1]);
    }
    const auto multiply = [&](float (&c)[4], const uint32_t (&a)[4], uint32_t b_low, uint32_t b_high) {
        const uint32_t b[2] = {b_low, b_high};
        mma::mma_m16n8k16<kPath, __half>(c, a, b);
    };
    // q8 keys: 1152 · Σ Q_g of heads 2t and 2t+1 for each scale group, what the biased codes add to their
    // partial scores (computed from the fp16 query the products see, so that it cancels).
    float key_bias[F == KvFormat::Q8 ? Sh::kGroups : 1][2] = {};
    if constexpr (F == KvFormat::Q8) {
        const uint32_t bias[4] = {half_pair(kQ8Bias), half_pair(kQ8Bias), half_pair(kQ8Bias), half_pair(kQ8Bias)};
#pragma unroll
        for (int scale_group = 0; scale_group < Sh::kGroups; ++scale_group) {
            float sum[4] = {};
#pragma unroll
            for (int half = 0; half < 2; ++half)
                multiply(sum, bias, q_frag[2 * scale_group + half][0], q_frag[2 * scale_group + half][1]);
            key_bias[scale_group][0] = sum[0], key_bias[scale_group][1] = sum[1];
        }
    }
    // Values: the constant A fragments that take the bias back out of a product with biased codes, per tile
    // of a chunk.
    uint32_t value_unbias[Tiles::kPerChunk][4];
#pragma unroll
    for (int j = 0; j < Tiles::kPerChunk; ++j)
#pragma unroll
        for (int i = 0; i < 4; ++i) value_unbias[j][i] = half_pair(-Tiles::bias(j));

    // Online softmax over the scores s of `group` for heads 2t and 2t+1 (each over the 8 lanes of its column)
    // against a lazy reference m: weights are exp2(s - m) as long as no score passes m; a group whose scores do
    // sets m to its maximum plus kReferenceHeadroom, with the shuffles and the rescaling of the state that
    // this takes. Masked keys score -inf. Leaves the weights as Pᵀ's B fragments in p_pairs.
    const auto weigh_group = [&](float (&s)[2][4], uint32_t (&p_pairs)[4]) {
        if (group < cta.key_first || group + kKeys > cta.split_end)
#pragma unroll
            for (int mt = 0; mt < 2; ++mt)
#pragma unroll
                for (int i = 0; i < 4; ++i) {
                    const int key = group + 16 * mt + 8 * (i / 2) + g;
                    if (key < cta.key_first || key >= cta.split_end) s[mt][i] = -CUDART_INF_F;
                }
        bool exceeds = false;
#pragma unroll
        for (int mt = 0; mt < 2; ++mt)
#pragma unroll
            for (int i = 0; i < 4; ++i) exceeds |= s[mt][i] > m[i % 2];
        if (__any_sync(0xffffffffu, exceeds)) {
#pragma unroll
            for (int j = 0; j < 2; ++j) {
                float group_max = fmaxf(fmaxf(s[0][j], s[0][j + 2]), fmaxf(s[1][j], s[1][j + 2]));
#pragma unroll
                for (int offset = 4; offset < 32; offset *= 2)
                    group_max = fmaxf(group_max, __shfl_xor_sync(0xffffffffu, group_max, offset));
                // A column whose scores stay below its reference keeps it (alpha 1; -inf - -inf would be NaN).
                const float m_new = group_max > m[j] ? group_max + kReferenceHeadroom : m[j];
                const float alpha = m_new == m[j] ? 1.0f : exp2_ftz(m[j] - m_new);
                m[j] = m_new;
                l[j] *= alpha;
#pragma unroll
                for (int tile = 0; tile < kOutputTiles; ++tile) o[tile][j] *= alpha, o[tile][j + 2] *= alpha;
            }
        }
        float base[2];
#pragma unroll
        for (int j = 0; j < 2; ++j) base[j] = m[j] == -CUDART_INF_F ? 0.0f : m[j];
        // Pᵀ's B fragments: p_pairs[i] holds keys 8·i + 2t, 8·i + 2t + 1 of head g, the transpose of the pairs
        // (heads 2t, 2t+1) of key 8·i + g.
#pragma unroll
        for (int mt = 0; mt < 2; ++mt)
#pragma unroll
            for (int r = 0; r < 2; ++r) {
                float p[2];
#pragma unroll
                for (int j = 0; j < 2; ++j) {
                    p[j] = exp2_ftz(s[mt][2 * r + j] - base[j]);
                    l[j] += p[j];
                }
                p_pairs[2 * mt + r] = mma::transpose_8x8(pack_pair(p[0], p[1]));
            }
    };

    int stage = 0;
    for (; group < coded_end; group += kStride) {
        const int ahead = group + (kMmaStages - 1) * kStride;
        if (ahead < cta.split_end)
            copy_group(ahead, ahead_block, stages_at + (stage + kMmaStages - 1) % kMmaStages * sizeof(StageT));
        mma::copy_commit<kPath>();
        ahead_block = group_block(ahead + kStride);
        mma::copy_wait<kPath, kMmaStages - 1>();
        __syncwarp();
        const StageT& st = stages[stage];

        // Scores, transposed: s[mt] holds keys 16·mt + g (0, 1) and 16·mt + 8 + g (2, 3) x heads 2t, 2t+1.
        float s[2][4] = {};
        if constexpr (F == KvFormat::Q8) {
            using KeyScales = ScaleRow<Sh::kGroups>;
            KeyScales key_scales[2][2];  // of the lane's keys 16·mt + 8·r + g
#pragma unroll
            for (int mt = 0; mt < 2; ++mt)
#pragma unroll
                for (int r = 0; r < 2; ++r)
                    key_scales[mt][r] = *reinterpret_cast<const KeyScales*>(st.k_scales[16 * mt + 8 * r + g]);
#pragma unroll
            for (int scale_group = 0; scale_group < Sh::kGroups; ++scale_group) {
                float part[2][4];
#pragma unroll
                for (int mt = 0; mt < 2; ++mt)
#pragma unroll
                    for (int i = 0; i < 4; ++i) part[mt][i] = -key_bias[scale_group][i % 2];
#pragma unroll
                for (int half = 0; half < 2; ++half) {
                    const int slice = 2 * scale_group + half;  // = the chunk
                    uint32_t codes[4];  // keys 8·i + g
                    mma::ldmatrix_x4<false>(codes, st.k + swizzled<Sh::kChunks>(lane, slice));
#pragma unroll
                    for (int mt = 0; mt < 2; ++mt) {
                        uint32_t a[4];
                        q8_key_fragment(codes[2 * mt], codes[2 * mt + 1], a);
                        multiply(part[mt], a, q_frag[slice][0], q_frag[slice][1]);
                    }
                }
#pragma unroll
                for (int mt = 0; mt < 2; ++mt)
#pragma unroll
                    for (int i = 0; i < 4; ++i)
                        s[mt][i] = fmaf(__half2float(key_scales[mt][i / 2].scale[scale_group]), part[mt][i], s[mt][i]);
            }
        } else {
            float offset[4] = {};  // Q · (m − 16d) of heads 2t, 2t+1 (twice): shared by the group's keys
#pragma unroll
            for (int chunk = 0; chunk < Sh::kChunks; ++chunk) {
                ChannelPairs channels;
                channels.load(&st.channels[0][32 * chunk + 8 * t], &st.channels[1][32 * chunk + 8 * t]);
                uint32_t codes[4];  // keys 8·i + g
                mma::ldmatrix_x4<false>(codes, st.k + swizzled<Sh::kChunks>(lane, chunk));
#pragma unroll
                for (int half = 0; half < 2; ++half) {
                    const int slice = 2 * chunk + half, w = 2 * half;  // slice_pairs' pairs (w, w+4), (w+1, w+5)
                    const uint32_t offsets[4] = {channels.offset[w], channels.offset[w], channels.offset[w + 1],
                                                 channels.offset[w + 1]};  // the same row for every key
                    multiply(offset, offsets, q_frag[slice][0], q_frag[slice][1]);
                    const uint32_t scaled_low = multiply_pairs(q_frag[slice][0], channels.scale[w]);
                    const uint32_t scaled_high = multiply_pairs(q_frag[slice][1], channels.scale[w + 1]);
#pragma unroll
                    for (int mt = 0; mt < 2; ++mt) {
                        uint32_t a[4];
                        q4_key_fragment(codes[2 * mt], codes[2 * mt + 1], slice, a);
                        multiply(s[mt], a, scaled_low, scaled_high);
                    }
                }
            }
#pragma unroll
            for (int mt = 0; mt < 2; ++mt)
#pragma unroll
                for (int i = 0; i < 4; ++i) s[mt][i] += offset[i];
        }

        uint32_t p_pairs[4];
        weigh_group(s, p_pairs);

        // Oᵀ += codesᵀ · (P · value scales)ᵀ, per value scale (q8: of 32 elements; q4: of the row).
#pragma unroll
        for (int scale_group = 0; scale_group < Sh::kValueScales; ++scale_group) {
            uint32_t pb[2][2];  // k-slice ks (keys 16·ks..): b0 (keys 2t, 2t+1), b1 (keys 2t+8, 2t+9), head g
#pragma unroll
            for (int i = 0; i < 4; ++i) {
                const int key = 8 * i + 2 * t;
                const __half2 scales = __halves2half2(st.v_scales[key][scale_group], st.v_scales[key + 1][scale_group]);
                pb[i / 2][i % 2] = multiply_pairs(p_pairs[i], *reinterpret_cast<const uint32_t*>(&scales));
            }
#pragma unroll
            for (int part = 0; part < Sh::kChunksPerValueScale; ++part) {
                const int chunk = scale_group * Sh::kChunksPerValueScale + part;
                uint32_t codes[4];  // keys 8·i.. of the chunk, transposed
                mma::ldmatrix_x4<true>(codes, st.v + swizzled<Sh::kChunks>(lane, chunk));
#pragma unroll
                for (int ks = 0; ks < 2; ++ks)
#pragma unroll
                    for (int j = 0; j < Tiles::kPerChunk; ++j) {
                        uint32_t a[4];
                        Tiles::fragment(codes[2 * ks], codes[2 * ks + 1], j, a);
                        float(&tile)[4] = o[chunk * Tiles::kPerChunk + j];
                        mma::mma_m16n8k16<kPath, __half>(tile, a, pb[ks]);
                        mma::mma_m16n8k16<kPath, __half>(tile, value_unbias[j], pb[ks]);
                    }
            }
        }
        __syncwarp();  // the stage is refilled next
        stage = (stage + 1) % kMmaStages;
    }
    if constexpr (F == KvFormat::Q4) {
        if (group < cta.split_end) {  // the unfinished group (the warp's last): keys and values of the pending buffers
            float s[2][4] = {};
            // The unfinished group's fp32 keys: pairs (e, e + 4) of the lane's 8 elements of a chunk, for the
            // key (zeros past the split).
            const auto key_pairs = [&](int key, int chunk, uint32_t (&pairs)[4]) {
                const bool valid = key < cta.split_end;
                const float* row = rows.pending_row(a.kv, valid ? key : group, false);
                const float4* source = reinterpret_cast<const float4*>(row + 32 * chunk + 8 * t);
                const float4 x0 = valid ? __ldg(source) : make_float4(0, 0, 0, 0);
                const float4 x1 = valid ? __ldg(source + 1) : make_float4(0, 0, 0, 0);
                pairs[0] = pack_pair(x0.x, x1.x), pairs[1] = pack_pair(x0.y, x1.y);
                pairs[2] = pack_pair(x0.z, x1.z), pairs[3] = pack_pair(x0.w, x1.w);
            };
#pragma unroll
            for (int mt = 0; mt < 2; ++mt)
#pragma unroll
                for (int chunk = 0; chunk < Sh::kChunks; ++chunk) {
                    uint32_t row_g[4], row_g8[4];
                    key_pairs(group + 16 * mt + g, chunk, row_g);
                    key_pairs(group + 16 * mt + 8 + g, chunk, row_g8);
#pragma unroll
                    for (int half = 0; half < 2; ++half) {  // slices 2·chunk + half: pairs (2·half, 2·half + 1)
                        const uint32_t a[4] = {row_g[2 * half], row_g8[2 * half], row_g[2 * half + 1],
                                               row_g8[2 * half + 1]};
                        multiply(s[mt], a, q_frag[2 * chunk + half][0], q_frag[2 * chunk + half][1]);
                    }
                }
            uint32_t p_pairs[4];
            weigh_group(s, p_pairs);
            add_pending_values<HeadDim>(o, p_pairs, rows.pending_row(a.kv, group, true), rows.pending_stride,
                                        cta.split_end - group, g, t);
        }
    }

#pragma unroll
    for (int j = 0; j < 2; ++j)
#pragma unroll
        for (int offset = 4; offset < 32; offset *= 2) l[j] += __shfl_xor_sync(0xffffffffu, l[j], offset);
    // The warps' results take the place of their stages (shared memory decides how many CTAs fit an SM).
    using MaxSums = float[kDecodeWarps][kHeadRows][2];
    using Rows = float[kDecodeWarps][kHeadRows][HeadDim];
    mma::copy_wait<kPath, 0>();
    __syncthreads();
    MaxSums& warp_max_sum = *reinterpret_cast<MaxSums*>(dynamic_shared);
    Rows& warp_acc = *reinterpret_cast<Rows*>(dynamic_shared + sizeof(MaxSums));
    if (g == 0)
#pragma unroll
        for (int j = 0; j < 2; ++j) {
            warp_max_sum[warp][2 * t + j][0] = m[j];
            warp_max_sum[warp][2 * t + j][1] = l[j];
        }
#pragma unroll
    for (int chunk = 0; chunk < Sh::kChunks; ++chunk)
#pragma unroll
        for (int j = 0; j < Tiles::kPerChunk; ++j)
#pragma unroll
            for (int i = 0; i < 4; ++i) {
                const int element = chunk * (HeadDim / Sh::kChunks) + Tiles::element(j, g + 8 * (i / 2));
                warp_acc[warp][2 * t + i % 2][element] = o[chunk * Tiles::kPerChunk + j][i];
            }
    __syncthreads();
    finish_decode_cta<T, HeadDim, kHeadRows, F>(a, plan, cta, warp_max_sum, warp_acc);
}

constexpr int kMergeWarps = 8;
constexpr int kMergeSplits = kMaxSplits + kMergeWarps;  // room for q4's pending split

// One CTA per (head, sequence): out = sum_s acc_s * 2^(m_s - M) / sum_s l_s * 2^(m_s - M). Warp w takes splits
// w, w + 8, ...: it issues all their row loads at once, works out the common max M and their weights from the
// (m, l) pairs meanwhile (every warp on its own: no barrier before the loads), rotates its weighted sum back
// for q4 (each warp its own share, in parallel), and leaves it in shared memory for the final add.
template <typename T, int HeadDim>
__global__ void __launch_bounds__(32 * kMergeWarps)
    flash_decode_merge_kernel(const AttentionKernelArgs<T> a, DecodePlan plan, bool unrotate) {
    static_assert(kMergeSplits % kMergeWarps == 0 && 32 % kMergeWarps == 0, "whole rounds of warps");
    constexpr int kSplitsPerWarp = kMergeSplits / kMergeWarps, kPerLane = (HeadDim + 31) / 32;
    constexpr int kPairs = (kMergeSplits + 31) / 32;  // (m, l) pairs a lane: splits lane, lane + 32, ...
    // The kernel after (the output projection's GEMV, loading weights; in the bench the next call's decode,
    // copying its first groups) may start as soon as every merge CTA runs: the decode before this merge has
    // passed its own wait, so no kernel still running writes what they read before waiting. Decode at 32k
    // with 8 kv heads on the H100: q4 2.26x -> 2.33-2.38x fp16 (docs/PERF.md).
    allow_next_kernel();
    wait_for_previous_kernel();
    __shared__ float partial[kMergeWarps][HeadDim];
    const int head = blockIdx.x, seq = blockIdx.y, warp = threadIdx.x / 32, lane = threadIdx.x % 32;
    const int64_t first_slot = (int64_t(seq) * a.p.n_heads + head) * plan.splits;

    float acc[kSplitsPerWarp][kPerLane];
#pragma unroll
    for (int i = 0; i < kSplitsPerWarp; ++i) {
        const int split = warp + kMergeWarps * i;
#pragma unroll
        for (int j = 0; j < kPerLane; ++j) {
            const int d = lane + 32 * j;
            acc[i][j] = split < plan.splits && d < HeadDim ? plan.acc[(first_slot + split) * HeadDim + d] : 0.0f;
        }
    }
    float2 max_sum[kPairs];
    float m_all = -CUDART_INF_F;
#pragma unroll
    for (int j = 0; j < kPairs; ++j) {
        const int split = lane + 32 * j;
        max_sum[j] = split < plan.splits ? plan.max_sum[first_slot + split] : make_float2(-CUDART_INF_F, 0.0f);
        m_all = fmaxf(m_all, max_sum[j].x);
    }
#pragma unroll
    for (int offset = 16; offset > 0; offset /= 2) m_all = fmaxf(m_all, __shfl_xor_sync(0xffffffffu, m_all, offset));
    const float base = m_all == -CUDART_INF_F ? 0.0f : m_all;
    float l_all = 0.0f;
#pragma unroll
    for (int j = 0; j < kPairs; ++j) l_all += max_sum[j].y * exp2f(max_sum[j].x - base);
#pragma unroll
    for (int offset = 16; offset > 0; offset /= 2) l_all += __shfl_xor_sync(0xffffffffu, l_all, offset);

    float sum[kPerLane] = {};
#pragma unroll
    for (int i = 0; i < kSplitsPerWarp; ++i) {
        const int split = warp + kMergeWarps * i;  // the same for the whole warp
        // split / 32, as a constant (the warps of a round share it): max_sum stays in registers.
        const float m_split = __shfl_sync(0xffffffffu, max_sum[kMergeWarps * i / 32].x, split % 32);
        const float weight = exp2f(m_split - base);  // 0 for splits past plan.splits (m = -inf)
#pragma unroll
        for (int j = 0; j < kPerLane; ++j) sum[j] = fmaf(weight, acc[i][j], sum[j]);
    }
    if (unrotate) warp_hadamard_unrotate(sum, HeadDim);  // q4 (head_dim a multiple of 32): the rotation is linear
#pragma unroll
    for (int j = 0; j < kPerLane; ++j)
        if (lane + 32 * j < HeadDim) partial[warp][lane + 32 * j] = sum[j];
    __syncthreads();

    const float inv = l_all > 0.0f ? 1.0f / l_all : 0.0f;
    T* out = a.out + (int64_t(a.p.q_offsets[seq]) * a.p.n_heads + head) * HeadDim;
    for (int d = threadIdx.x; d < HeadDim; d += blockDim.x) {
        float value = 0.0f;
#pragma unroll
        for (int w = 0; w < kMergeWarps; ++w) value += partial[w][d];
        out[d] = from_float<T>(value * inv);
    }
}

int heads_per_cta(int group) {
    const int heads = std::min(group, kMaxHeadsPerCta);
    return heads <= 1 ? 1 : heads <= 2 ? 2 : heads <= 4 ? 4 : 8;
}

constexpr int kMaxCtasPerSm = 4;  // what the workspace is sized for

// Enough splits to fill the SMs with one wave of ctas_per_sm CTAs each (at most kMaxCtasPerSm: the decode
// kernels' register counts decide it), never fewer than kMinKeysPerSplit keys each. Splits cover whole
// groups of kSplitAlign keys from the group of the first visible key, so a window adds up to 63 keys to cover.
// pending_split (q4): one split more when there are several, for the unfinished key group (DecodePlan).
DecodePlan plan_splits(const AttentionParams& p, int ctas_per_sm, bool pending_split) {
    const int group = p.n_heads / p.n_kv_heads;
    const int heads = heads_per_cta(group);
    const int ctas = p.batch * p.n_kv_heads * ((group + heads - 1) / heads);
    const int visible = p.window > 0 ? std::min(p.max_kv_len, p.window + kSplitAlign - 1) : p.max_kv_len;
    const int by_length = std::max(1, (visible + kMinKeysPerSplit - 1) / kMinKeysPerSplit);
    const int by_occupancy = std::max(1, std::min(ctas_per_sm, kMaxCtasPerSm) * current_multiprocessor_count() / ctas);
    DecodePlan plan;
    plan.splits = std::min({by_length, by_occupancy, kMaxSplits});
    const int keys = std::max(1, (visible + plan.splits - 1) / plan.splits);
    plan.keys_per_split = (keys + kSplitAlign - 1) / kSplitAlign * kSplitAlign;
    plan.pending_split = pending_split && plan.splits > 1;
    plan.splits += plan.pending_split;
    return plan;
}

// BlockKvRows's block_shift: positions of a sequence in one block need no block index; otherwise blocks are
// located by a shift (validate_kv_cache_view guarantees a power of two).
int block_shift(const KvCacheView& kv) {
    if (!kv.block_tables && kv.blocks_per_seq == 1) return 31;
    int shift = 0;
    while ((1 << shift) < kv.layout.block_tokens) ++shift;
    return shift;
}

size_t partial_slots(const AttentionParams& p, int splits) { return size_t(p.batch) * p.n_heads * splits; }

// CTAs of `kernel` that fit an SM at once (registers and shared memory), asked once per instantiation.
// Plans the splits for `kernel` (ctas_per_sm of it fit an SM), launches it over every (split, kv head, head
// chunk of heads_per_cta, sequence), then the merge when there are several splits.
template <typename T, int HeadDim, KvFormat F, typename Kernel>
void launch_splits(Kernel kernel, int heads_per_cta, size_t shared_bytes, int ctas_per_sm, const AttentionParams& p,
                   const AttentionKernelArgs<T>& args, DecodePlan plan, cudaStream_t stream) {
    const DecodePlan splits = plan_splits(p, ctas_per_sm, F == KvFormat::Q4);
    plan.splits = splits.splits;
    plan.keys_per_split = splits.keys_per_split;
    plan.pending_split = splits.pending_split;
    const int head_chunks = (args.group + heads_per_cta - 1) / heads_per_cta;
    launch_dependent(kernel, dim3(plan.splits, p.n_kv_heads * head_chunks, p.batch), dim3(kDecodeThreads),
                     shared_bytes, stream, args, plan);
    if (plan.splits > 1)
        launch_dependent(flash_decode_merge_kernel<T, HeadDim>, dim3(p.n_heads, p.batch), dim3(32 * kMergeWarps), 0,
                         stream, args, plan, F == KvFormat::Q4);
}

template <typename T, int HeadDim, int Heads, KvFormat F, typename Rows>
void launch_decode_kernel(const AttentionParams& p, const AttentionKernelArgs<T>& args, const DecodePlan& plan,
                          cudaStream_t stream) {
    const auto kernel = flash_decode_kernel<T, HeadDim, Heads, F, Rows>;
    static const int ctas_per_sm = resident_blocks_per_sm(reinterpret_cast<const void*>(kernel), kDecodeThreads);
    launch_splits<T, HeadDim, F>(kernel, Heads, 0, ctas_per_sm, p, args, plan, stream);
}

template <typename T, int HeadDim, KvFormat F>
void launch_decode_mma_kernel(const AttentionParams& p, const AttentionKernelArgs<T>& args, const DecodePlan& plan,
                              cudaStream_t stream) {
    const auto kernel = flash_decode_mma_kernel<T, HeadDim, F>;
    constexpr size_t kStages = kMmaDecodeStages<F> * kDecodeWarps * sizeof(decode_mma::Stage<F, HeadDim>);
    constexpr size_t kResults = kDecodeWarps * decode_mma::kHeadRows * (2 + HeadDim) * sizeof(float);
    constexpr size_t kShared = kStages > kResults ? kStages : kResults;
    static const int ctas_per_sm = [kernel] {
        CUDA_CHECK(cudaFuncSetAttribute(kernel, cudaFuncAttributeMaxDynamicSharedMemorySize, int(kShared)));
        return resident_blocks_per_sm(reinterpret_cast<const void*>(kernel), kDecodeThreads, kShared);
    }();
    launch_splits<T, HeadDim, F>(kernel, decode_mma::kHeadRows, kShared, ctas_per_sm, p, args, plan, stream);
}

// plan: the workspace (sized for kMaxCtasPerSm); the launch plans its splits for the kernel it runs.
template <typename T, int HeadDim, int Heads>
void launch_decode(const AttentionParams& p, const AttentionKernelArgs<T>& args, const DecodePlan& plan,
                   cudaStream_t stream) {
    if (!args.kv.in_blocks())
        return launch_decode_kernel<T, HeadDim, Heads, KvFormat::F16, StridedKvRows<T>>(p, args, plan, stream);
    dispatch_kv_format(args.kv.format(), [&](auto format) {
        constexpr KvFormat F = decltype(format)::value;
        // Codes take tensor cores where they run; the SIMT kernel's dot products over lanes cannot keep up with
        // the bandwidth that 8- and 4-bit rows leave.
        if constexpr (F != KvFormat::F16 && (HeadDim == 64 || HeadDim == 128))
            if (select_kernel_path() == KernelPath::TensorCoreSm80)
                return launch_decode_mma_kernel<T, HeadDim, F>(p, args, plan, stream);
        if constexpr (F == KvFormat::F16 || HeadDim % cpu::kKvGroup == 0)  // else validate_kv_cache_view threw
            launch_decode_kernel<T, HeadDim, Heads, F, BlockKvRows<F>>(p, args, plan, stream);
    });
}

}  // namespace

size_t flash_decode_workspace_bytes(const AttentionParams& p) {
    const DecodePlan plan = plan_splits(p, kMaxCtasPerSm, true);  // the most splits any format takes
    if (plan.splits == 1) return 0;
    return partial_slots(p, plan.splits) * (sizeof(float2) + sizeof(float) * p.head_dim);
}

template <typename T>
void flash_decode(const AttentionParams& p, const AttentionKernelArgs<T>& args, const Workspace& workspace,
                  cudaStream_t stream) {
    if (args.kv.fresh_keys)  // a decode step's newest q8 row is read as stored, its q4 rows are pending (exact)
        throw Error("flash decode reads no fresh rows (KvCacheView::attend_fresh_rows is for prefill calls)");
    DecodePlan plan = plan_splits(p, kMaxCtasPerSm, true);  // the workspace's; each launch plans its own splits
    if (plan.splits > 1) {
        const size_t needed = flash_decode_workspace_bytes(p);
        if (workspace.bytes < needed || !workspace.data)
            throw Error("flash decode needs a workspace of " + std::to_string(needed) + " bytes, got " +
                        std::to_string(workspace.bytes) + "; size it with attention_flash_workspace_bytes()");
        plan.max_sum = static_cast<float2*>(workspace.data);
        plan.acc = reinterpret_cast<float*>(plan.max_sum + partial_slots(p, plan.splits));
    }
    if (args.kv.in_blocks()) plan.block_shift = block_shift(args.kv);
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
