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
};

// heads: (query heads, kv heads).
AttentionCase make_case(int head_dim, std::pair<int, int> heads, bool causal, int window,
                        std::vector<SequenceLengths> sequences);

std::string describe(const AttentionCase& c);

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
    cuda::DeviceBuffer<int> q_offsets;
    cuda::DeviceBuffer<int> kv_lens;
    std::vector<int> host_q_offsets;
    std::vector<int> host_kv_lens;
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
