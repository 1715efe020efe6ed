#pragma once
// Random varlen attention batches whose KV cache is in blocks (fp16, q8 or q4; paged or contiguous), encoded
// by the CPU codecs of kernels/cpu/kv_quant.h, with the CPU reference attention on the same rows decoded by
// the CPU. q4 keys and values of each sequence's unfinished group are exact, in the pending buffers (values
// rotated), as the GPU cache holds them; with fresh rows (q8, q4) so are the call's own positions, in a
// buffer laid out as the QKV kernel leaves them (attention.h), their codes poisoned. Paged sequences get scattered, shuffled blocks that cross block
// boundaries; blocks no sequence owns, the rest of the pending buffers and q4 key codes of unfinished groups
// hold 0xff bytes or NaNs, so a kernel that reads the wrong block, slot or buffer fails the comparison.
#include <vector>

#include "kernels/cpu/kv_quant.h"
#include "kernels/cuda/attention.h"
#include "src/cuda/device_allocator.h"
#include "tests/gpu/attention_reference.h"

namespace attn::test {

struct KvBlockCase {
    cpu::KvFormat format = cpu::KvFormat::F16;
    bool paged = false;
    int block_tokens = 32;  // paged only; contiguous blocks hold a whole sequence
    bool fresh_rows = false;  // q8/q4: the view attends the queries' own positions from a fresh buffer
};

std::string describe(const KvBlockCase& c);

struct KvBlockBatch {
    cuda::AttentionParams params;  // kv_in_blocks set
    cuda::KvCacheView kv;
    cuda::DeviceBuffer<__half> q;
    cuda::DeviceBuffer<uint8_t> blocks;
    cuda::DeviceBuffer<int32_t> block_tables;
    cuda::DeviceBuffer<float> pending_keys;
    cuda::DeviceBuffer<float> pending_values;
    cuda::DeviceBuffer<float> fresh;  // [total_q][fresh_stride]: K then V of each query row's position
    VarlenBatch lengths;
    std::vector<float> reference;  // cpu::attention_naive on the CPU-decoded rows
};

KvBlockBatch make_kv_block_batch(const AttentionCase& c, const KvBlockCase& kv_case, uint64_t seed);

double relative_error_to_reference(const KvBlockBatch& batch, const cuda::DeviceBuffer<__half>& out);

}  // namespace attn::test
