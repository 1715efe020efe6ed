// sdp attention, chunk by chunk. A chunk is one sequence's query rows [i0, i0 + rows) for kv heads
// [g0, g0 + kv_heads); the query heads of one kv head's group are stacked as extra GEMM rows (Q staged
// heads-major), so each GEMM is one strided batch over kv heads and K/V are read in place, never repeated.
// Keys outside visible_key_range of the chunk are skipped, which bounds a sliding window's scores by
// rows + window - 1 columns. P is stored in T (fp16/bf16), as PyTorch's math path and FlashAttention do before P·V:
// the second GEMM then runs on tensor cores, reads half the bytes, and each probability moves by at most
// 2^-11 of itself in fp16 (2^-8 in bf16), about what rounding the output to T costs anyway.
#include "kernels/cuda/attention_sdp.h"

#include <algorithm>
#include <climits>
#include <cmath>

#include <cub/block/block_reduce.cuh>
#include "kernels/cuda/kv_decode_rows.h"
#include "kernels/cuda/reduce_ops.cuh"

#include "src/common/format_bytes.h"
#include "src/cuda/check.h"
#include "src/cuda/device_allocator.h"

namespace attn::cuda {
namespace {

constexpr size_t kBufferAlignBytes = 256;
constexpr int kSoftmaxThreads = 256;
constexpr int kCopyThreads = 256;
constexpr int kCopyMaxBlocks = 4096;

size_t align_up(size_t bytes) {
    return (bytes + kBufferAlignBytes - 1) / kBufferAlignBytes * kBufferAlignBytes;
}

// A causal sliding window shows a chunk of `rows` queries at most rows + window - 1 keys, whatever the length.
int chunk_key_cols(const AttentionParams& p, int query_rows) {
    if (p.causal && p.window > 0) return int(std::min<int64_t>(p.max_kv_len, int64_t(query_rows) + p.window - 1));
    return p.max_kv_len;
}

SdpChunkPlan layout_chunk(const AttentionParams& p, int kv_heads, int query_rows) {
    SdpChunkPlan plan;
    plan.kv_heads = kv_heads;
    plan.query_rows = query_rows;
    plan.key_cols = chunk_key_cols(p, query_rows);
    const size_t head_rows = size_t(kv_heads) * (p.n_heads / p.n_kv_heads) * query_rows;
    const size_t scores = head_rows * plan.key_cols;
    const size_t staging_bytes = align_up(head_rows * p.head_dim * sizeof(uint16_t));  // T is 2 bytes
    plan.scores_offset = 0;
    plan.probs_offset = align_up(scores * sizeof(float));
    plan.q_offset = plan.probs_offset + align_up(scores * sizeof(uint16_t));
    plan.out_offset = plan.q_offset + staging_bytes;
    plan.bytes = plan.out_offset + staging_bytes;
    if (p.kv_in_blocks) {
        const size_t decoded_bytes = align_up(size_t(plan.key_cols) * kv_heads * p.head_dim * sizeof(uint16_t));
        plan.k_offset = plan.bytes;
        plan.v_offset = plan.k_offset + decoded_bytes;
        plan.bytes = plan.v_offset + decoded_bytes;
    }
    return plan;
}

// Row r of the scores holds query head r / rows_per_head of the chunk at position first_pos + r % rows_per_head,
// over keys first_key + [0, cols). P = softmax(S) in fp32, hidden keys exactly 0, stored as T.
template <typename T>
__global__ void __launch_bounds__(kSoftmaxThreads)
masked_softmax_kernel(AttentionParams p, const float* scores, T* probs, int cols, int rows_per_head,
                      int first_pos, int first_key) {
    using BlockReduce = cub::BlockReduce<float, kSoftmaxThreads>;
    __shared__ typename BlockReduce::TempStorage reduce_storage;
    __shared__ float row_max_shared;
    __shared__ float row_sum_shared;

    const int64_t row = blockIdx.x;
    const int pos = first_pos + int(row % rows_per_head);
    const float* s = scores + row * cols;
    T* prob = probs + row * cols;

    float local_max = -INFINITY;
    for (int c = threadIdx.x; c < cols; c += kSoftmaxThreads)
        if (key_visible(p, pos, first_key + c)) local_max = fmaxf(local_max, s[c]);
    const float block_max = BlockReduce(reduce_storage).Reduce(local_max, FloatMax{});
    if (threadIdx.x == 0) row_max_shared = block_max;
    __syncthreads();
    const float row_max = row_max_shared;

    float local_sum = 0.0f;
    for (int c = threadIdx.x; c < cols; c += kSoftmaxThreads)
        if (key_visible(p, pos, first_key + c)) local_sum += expf(s[c] - row_max);
    const float block_sum = BlockReduce(reduce_storage).Sum(local_sum);
    if (threadIdx.x == 0) row_sum_shared = block_sum;
    __syncthreads();
    const float inv_sum = 1.0f / row_sum_shared;

    for (int c = threadIdx.x; c < cols; c += kSoftmaxThreads)
        prob[c] = from_float<T>(key_visible(p, pos, first_key + c) ? expf(s[c] - row_max) * inv_sum : 0.0f);
}

// Where row (token t, head h) of a [tokens][heads][head_dim] block starts: t * token + h * head elements.
struct RowStrides {
    int64_t token;
    int64_t head;
};

// Copies a block of rows between two layouts: gathers a chunk's queries heads-major for the GEMM and
// scatters its output back to the packed [token][head] order.
template <typename T>
__global__ void __launch_bounds__(kCopyThreads)
copy_head_rows_kernel(const T* src, RowStrides src_strides, T* dst, RowStrides dst_strides, int tokens,
                      int heads, int head_dim) {
    const int64_t total = int64_t(tokens) * heads * head_dim;
    for (int64_t i = int64_t(blockIdx.x) * kCopyThreads + threadIdx.x; i < total; i += int64_t(gridDim.x) * kCopyThreads) {
        const int64_t d = i % head_dim, h = i / head_dim % heads, t = i / head_dim / heads;
        dst[t * dst_strides.token + h * dst_strides.head + d] = src[t * src_strides.token + h * src_strides.head + d];
    }
}

template <typename T>
void copy_head_rows(const T* src, RowStrides src_strides, T* dst, RowStrides dst_strides, int tokens,
                    int heads, int head_dim, cudaStream_t stream) {
    const int64_t total = int64_t(tokens) * heads * head_dim;
    const int blocks = int(std::min<int64_t>((total + kCopyThreads - 1) / kCopyThreads, kCopyMaxBlocks));
    copy_head_rows_kernel<<<blocks, kCopyThreads, 0, stream>>>(src, src_strides, dst, dst_strides, tokens, heads,
                                                               head_dim);
    CUDA_CHECK_LAUNCH();
}

template <typename T>
struct SdpBuffers {
    float* scores;
    T* probs;
    T* q;
    T* out;
    T* k;  // decoded K/V of a cache in blocks, else null
    T* v;
};

// Query rows [first_token, first_token + rows) of sequence `seq` (positions from first_pos) × kv heads
// [kv_head, kv_head + kv_heads).
struct SdpChunk {
    int seq;
    int kv_len;
    KvExactRows exact;  // of the sequence
    int first_token;
    int first_pos;
    int rows;
    int kv_head;
    int kv_heads;
};

template <typename T>
void run_chunk(const AttentionParams& p, const SdpChunk& c, const T* q, const KvCacheView& kv, T* out,
               const SdpBuffers<T>& buffers, int max_key_cols, cublasHandle_t cublas, cudaStream_t stream) {
    const int group = p.n_heads / p.n_kv_heads;
    const int heads = c.kv_heads * group;
    const int group_rows = group * c.rows;  // GEMM rows per kv head: (query head in group, query row)
    const KeyRange keys = visible_key_range(p, c.first_pos, c.first_pos + c.rows - 1, c.kv_len);
    const int cols = keys.end - keys.begin;
    ATTN_ASSERT(cols > 0 && cols <= max_key_cols);

    const RowStrides packed{int64_t(p.n_heads) * p.head_dim, p.head_dim};
    const RowStrides heads_major{p.head_dim, int64_t(c.rows) * p.head_dim};
    const int64_t q_index = int64_t(c.first_token) * packed.token + int64_t(c.kv_head) * group * p.head_dim;
    // K and V as cuBLAS reads them: rows of kv_ld elements, one kv head (batch entry) every head_dim.
    const T *k_rows, *v_rows;
    int kv_ld;
    if (kv.in_blocks()) {
        decode_kv_rows(kv, c.seq, c.exact, keys.begin, cols, c.kv_head, c.kv_heads, p.head_dim, buffers.k, buffers.v,
                       stream);
        k_rows = buffers.k;
        v_rows = buffers.v;
        kv_ld = c.kv_heads * p.head_dim;
    } else {
        const int64_t kv_index = c.seq * kv.seq_stride + int64_t(keys.begin) * kv.token_stride +
                                 int64_t(c.kv_head) * p.head_dim;
        k_rows = static_cast<const T*>(kv.k) + kv_index;
        v_rows = static_cast<const T*>(kv.v) + kv_index;
        kv_ld = int(kv.token_stride);
    }

    // One query row is already heads-major ([heads][1][head_dim]), so decode needs no staging copies.
    const bool staged = c.rows > 1;
    if (staged) copy_head_rows(q + q_index, packed, buffers.q, heads_major, c.rows, heads, p.head_dim, stream);
    const T* q_rows = staged ? buffers.q : q + q_index;
    T* out_rows = staged ? buffers.out : out + q_index;

    // cuBLAS is column-major and sees each row-major matrix here as its transpose, so S = scale·Q·Kᵀ is
    // computed as Sᵀ = scale·K·Qᵀ: K's column-major view is Kᵀ, hence OP_T. One batch entry per kv head.
    const float scale = p.scale, one = 1.0f, zero = 0.0f;
    const cudaDataType_t type = ElementTraits<T>::kCublasType;
    CUBLAS_CHECK(cublasGemmStridedBatchedEx(
        cublas, CUBLAS_OP_T, CUBLAS_OP_N, cols, group_rows, p.head_dim, &scale,
        k_rows, type, kv_ld, p.head_dim,
        q_rows, type, p.head_dim, int64_t(group_rows) * p.head_dim,
        &zero, buffers.scores, CUDA_R_32F, cols, int64_t(group_rows) * cols,
        c.kv_heads, CUBLAS_COMPUTE_32F, CUBLAS_GEMM_DEFAULT));

    masked_softmax_kernel<<<heads * c.rows, kSoftmaxThreads, 0, stream>>>(p, buffers.scores, buffers.probs, cols,
                                                                           c.rows, c.first_pos, keys.begin);
    CUDA_CHECK_LAUNCH();

    // O = P·V as Oᵀ = Vᵀ·Pᵀ, written in T straight into its heads-major rows.
    CUBLAS_CHECK(cublasGemmStridedBatchedEx(
        cublas, CUBLAS_OP_N, CUBLAS_OP_N, p.head_dim, group_rows, cols, &one,
        v_rows, type, kv_ld, p.head_dim,
        buffers.probs, type, cols, int64_t(group_rows) * cols,
        &zero, out_rows, type, p.head_dim, int64_t(group_rows) * p.head_dim,
        c.kv_heads, CUBLAS_COMPUTE_32F, CUBLAS_GEMM_DEFAULT));

    if (staged) copy_head_rows(buffers.out, heads_major, out + q_index, packed, c.rows, heads, p.head_dim, stream);
}

}  // namespace

size_t sdp_chunk_bytes(const AttentionParams& params, int kv_heads, int query_rows) {
    return layout_chunk(params, kv_heads, query_rows).bytes;
}

SdpChunkPlan plan_sdp_chunks(const AttentionParams& p, size_t cap_bytes) {
    validate_attention_params(p);
    if (p.max_q_len == 0) return {};
    auto fits = [&](int kv_heads, int rows) { return sdp_chunk_bytes(p, kv_heads, rows) <= cap_bytes; };
    for (int kv_heads = p.n_kv_heads; kv_heads >= 1; --kv_heads)
        if (fits(kv_heads, p.max_q_len)) return layout_chunk(p, kv_heads, p.max_q_len);
    if (!fits(1, 1))
        throw Error("--attn-backend sdp needs a workspace of at least " + format_bytes(sdp_chunk_bytes(p, 1, 1)) +
                    " (the scores of one query row against " + std::to_string(chunk_key_cols(p, 1)) +
                    " keys), but only " + format_bytes(cap_bytes) +
                    " is allowed; raise the cap or use --attn-backend naive, which needs no workspace");
    int lo = 1, hi = p.max_q_len - 1;  // invariant: lo rows fit, the answer is in [lo, hi]
    while (lo < hi) {
        const int mid = lo + (hi - lo + 1) / 2;
        if (fits(1, mid)) lo = mid;
        else hi = mid - 1;
    }
    return layout_chunk(p, 1, lo);
}

size_t attention_sdp_workspace_bytes(const AttentionParams& params, size_t cap_bytes) {
    return plan_sdp_chunks(params, cap_bytes).bytes;
}

std::string describe_sdp_workspace(const AttentionParams& p, size_t cap_bytes) {
    const SdpChunkPlan plan = plan_sdp_chunks(p, cap_bytes);
    return "sdp workspace " + format_bytes(plan.bytes) + " (cap " + format_bytes(cap_bytes) + "): chunks of " +
           std::to_string(plan.kv_heads) + "/" + std::to_string(p.n_kv_heads) + " kv heads x " +
           std::to_string(plan.query_rows) + "/" + std::to_string(p.max_q_len) + " query rows x " +
           std::to_string(plan.key_cols) + " keys; fp32 scores, 16-bit probabilities and Q/O staging" +
           (p.kv_in_blocks ? "; the KV cache is in blocks (paged/q8/q4), which cuBLAS cannot read: each chunk's K/V "
                             "are decoded to the model's 16-bit type in the workspace first"
                           : "");
}

template <typename T>
void attention_sdp(const AttentionParams& p, const T* q, const KvCacheView& kv, T* out,
                   const Workspace& workspace, cublasHandle_t cublas, cudaStream_t stream) {
    validate_attention_params(p);
    if (p.total_q == 0) return;
    if (!p.h_q_offsets || !p.h_kv_lens)
        throw Error("--attn-backend sdp needs host copies of the sequence lengths (AttentionParams::h_q_offsets "
                    "and h_kv_lens); set them or use --attn-backend naive");
    validate_kv_cache_view(kv, p.n_kv_heads, p.head_dim);
    if (kv.in_blocks() != p.kv_in_blocks)
        throw Error("--attn-backend sdp: AttentionParams::kv_in_blocks must say whether the KV cache view is in "
                    "blocks (it sizes the workspace)");
    if (kv.token_stride > INT_MAX)
        throw Error("--attn-backend sdp cannot pass a KV token stride of " + std::to_string(kv.token_stride) +
                    " elements to cuBLAS; use --attn-backend naive");
    const SdpChunkPlan plan = plan_sdp_chunks(p, workspace.bytes);
    ATTN_ASSERT(workspace.data && q && out);
    char* base = static_cast<char*>(workspace.data);
    const SdpBuffers<T> buffers{reinterpret_cast<float*>(base + plan.scores_offset),
                                reinterpret_cast<T*>(base + plan.probs_offset),
                                reinterpret_cast<T*>(base + plan.q_offset),
                                reinterpret_cast<T*>(base + plan.out_offset),
                                p.kv_in_blocks ? reinterpret_cast<T*>(base + plan.k_offset) : nullptr,
                                p.kv_in_blocks ? reinterpret_cast<T*>(base + plan.v_offset) : nullptr};
    CUBLAS_CHECK(cublasSetStream(cublas, stream));

    for (int seq = 0; seq < p.batch; ++seq) {
        const int first_token = p.h_q_offsets[seq];
        const int q_len = p.h_q_offsets[seq + 1] - first_token;
        const int kv_len = p.h_kv_lens[seq];
        if (q_len == 0) continue;
        if (q_len < 0 || q_len > p.max_q_len || kv_len > p.max_kv_len || q_len > kv_len)
            throw Error("attention: sequence " + std::to_string(seq) + " has " + std::to_string(q_len) +
                        " queries and " + std::to_string(kv_len) + " keys, outside max_q_len " +
                        std::to_string(p.max_q_len) + " / max_kv_len " + std::to_string(p.max_kv_len) +
                        " or more queries than keys");
        for (int i0 = 0; i0 < q_len; i0 += plan.query_rows) {
            for (int g0 = 0; g0 < p.n_kv_heads; g0 += plan.kv_heads) {
                const SdpChunk chunk{seq, kv_len, kv_exact_rows(kv, kv_len, q_len, first_token), first_token + i0,
                                     kv_len - q_len + i0, std::min(plan.query_rows, q_len - i0), g0,
                                     std::min(plan.kv_heads, p.n_kv_heads - g0)};
                run_chunk(p, chunk, q, kv, out, buffers, plan.key_cols, cublas, stream);
            }
        }
    }
}

template void attention_sdp(const AttentionParams&, const __half*, const KvCacheView&, __half*, const Workspace&,
                            cublasHandle_t, cudaStream_t);
template void attention_sdp(const AttentionParams&, const __nv_bfloat16*, const KvCacheView&, __nv_bfloat16*,
                            const Workspace&, cublasHandle_t, cudaStream_t);

}  // namespace attn::cuda
