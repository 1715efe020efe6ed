#pragma once
// Random varlen attention batches on the GPU together with the CPU reference output, for the tests of every
// GPU attention backend. The KV cache is deliberately roomy — padding after each token's kv heads and unused
// positions after each sequence — and that slack holds NaN, so a kernel that reads through a wrong stride or
// past a sequence's length fails the comparison instead of passing by luck.
#include <string>
#include <utility>
#include <vector>

#include "kernels/cuda/attention.h"
#include "src/cuda/device_allocator.h"

namespace attn::test {

struct SequenceLengths {
    int q_len;
    int kv_len;  // >= q_len: the queries are the newest kv_len - q_len .. kv_len - 1 positions
};

struct AttentionCase {
    int n_heads = 8;
    int n_kv_heads = 8;
    int head_dim = 64;
    bool causal = true;
    int window = 0;
    std::vector<SequenceLengths> sequences;
    int token_padding = 8;     // elements after each position's kv heads: token_stride = n_kv_heads*head_dim + this
    int spare_positions = 13;  // positions after the longest sequence: seq_stride = (max kv_len + this) * token_stride
    // Keys at position pos are scaled by 1 + key_growth * pos: scores that keep rising along the keys, so that
    // rows pass their softmax reference tile after tile (N(0, 1) inputs settle it in the first tile).
    float key_growth = 0.0f;
};

// heads: (query heads, kv heads).
AttentionCase make_case(int head_dim, std::pair<int, int> heads, bool causal, int window,
                        std::vector<SequenceLengths> sequences);

std::string describe(const AttentionCase& c);

// The varlen bookkeeping every test batch shares: host offsets and lengths, their device copies, and the
// AttentionParams that point at both (so the object must stay where params expects it: keep it a member).
struct VarlenBatch {
    std::vector<int> host_q_offsets;  // [batch + 1]
    std::vector<int> host_kv_lens;    // [batch]
    cuda::DeviceBuffer<int> q_offsets;
    cuda::DeviceBuffer<int> kv_lens;
    int max_q_len = 0, max_kv_len = 0, total_q = 0;

    // Fills the lengths of c's sequences and uploads them.
    void assign(const AttentionCase& c);
    // Params of c over these lengths (scale 1/sqrt(head_dim)); kv_in_blocks as the caller's view is.
    cuda::AttentionParams params(const AttentionCase& c, bool kv_in_blocks) const;
};

// cpu::attention_naive over each sequence of the batch: q [total_q][n_heads][head_dim]; the K/V row of
// (sequence b, position pos) starts at b * seq_stride + pos * token_stride.
std::vector<float> reference_attention(const AttentionCase& c, const VarlenBatch& lengths, const std::vector<float>& q,
                                       const float* k, const float* v, int64_t seq_stride, int64_t token_stride);

// Everything a backend reads, on the device, plus the expected output. `params` points at this object's own
// buffers (device and host lengths), which stay in place when the batch is moved. T: __half or
// __nv_bfloat16.
template <typename T = __half>
struct AttentionBatch {
    cuda::AttentionParams params;
    cuda::KvCacheView kv;
    cuda::DeviceBuffer<T> q;        // [total_q][n_heads][head_dim]
    cuda::DeviceBuffer<T> k_cache;  // [batch][positions][token_stride], NaN outside the used part
    cuda::DeviceBuffer<T> v_cache;
    VarlenBatch lengths;
    std::vector<float> reference;  // [total_q][n_heads][head_dim], cpu::attention_naive on the T-rounded inputs
};

// Fresh normal(0, 1) q/k/v from `seed`, rounded to T; scale 1/sqrt(head_dim).
template <typename T = __half>
AttentionBatch<T> make_attention_batch(const AttentionCase& c, uint64_t seed);

// A poisoned output buffer of the batch's size, for a backend to fill.
template <typename T>
cuda::DeviceBuffer<T> make_poisoned_output(const AttentionBatch<T>& batch);

// ||out - reference|| / ||reference||, +inf when out holds a NaN.
template <typename T>
double relative_error_to_reference(const AttentionBatch<T>& batch, const cuda::DeviceBuffer<T>& out);

}  // namespace attn::test
