#include "tests/gpu/kv_cache_batch.h"

#include <algorithm>
#include <limits>
#include <random>
#include <sstream>

#include "tests/gpu/gpu_test_util.h"
#include "tests/random_data.h"

namespace attn::test {

std::string describe(const KvBlockCase& c) {
    std::ostringstream text;
    text << cpu::kv_format_name(c.format) << ", ";
    if (c.paged)
        text << "paged, blocks of " << c.block_tokens;
    else
        text << "contiguous";
    if (c.fresh_rows) text << ", fresh rows";
    return text.str();
}

KvBlockBatch make_kv_block_batch(const AttentionCase& c, const KvBlockCase& kv_case, uint64_t seed) {
    const int batch_size = int(c.sequences.size());
    const int group = cpu::kQ4KeyGroup;
    KvBlockBatch batch;
    batch.lengths.assign(c);
    const int max_kv_len = batch.lengths.max_kv_len, total_q = batch.lengths.total_q;
    const int64_t kv_dim = int64_t(c.n_kv_heads) * c.head_dim;
    const int64_t q_row = int64_t(c.n_heads) * c.head_dim;

    // Contiguous: one block per sequence, sized for the longest (and a q4 key group multiple).
    cpu::KvBlockLayout layout{kv_case.format, c.n_kv_heads, c.head_dim, kv_case.block_tokens};
    if (!kv_case.paged) layout.block_tokens = (max_kv_len + c.spare_positions + group - 1) / group * group;
    const int block_tokens = layout.block_tokens;
    const int blocks_per_seq = (max_kv_len + block_tokens - 1) / block_tokens;
    std::mt19937 rng{uint32_t(seed)};
    std::vector<int32_t> tables(size_t(batch_size) * blocks_per_seq, -1);
    int n_blocks = batch_size;
    if (kv_case.paged) {
        n_blocks = batch_size * blocks_per_seq + 3;  // spare blocks, never read
        std::vector<int32_t> ids(n_blocks);
        for (int32_t i = 0; i < n_blocks; ++i) ids[i] = i;
        std::shuffle(ids.begin(), ids.end(), rng);
        size_t next = 0;
        for (int b = 0; b < batch_size; ++b)
            for (int i = 0; i * block_tokens < c.sequences[b].kv_len; ++i) tables[size_t(b) * blocks_per_seq + i] = ids[next++];
    }
    auto block_id = [&](int b, int pos) {
        return kv_case.paged ? tables[size_t(b) * blocks_per_seq + pos / block_tokens] : int32_t(b);
    };

    const int64_t block_bytes = layout.block_bytes();
    std::vector<uint8_t> blocks(size_t(n_blocks) * block_bytes, 0xff);
    std::vector<float> pending(layout.keys_by_channel() ? size_t(batch_size) * group * kv_dim : 0,
                               std::numeric_limits<float>::quiet_NaN());
    std::vector<float> pending_values(pending.size(), std::numeric_limits<float>::quiet_NaN());
    const bool fresh_rows = kv_case.fresh_rows && kv_case.format != cpu::KvFormat::F16;
    const int64_t fresh_stride = 2 * kv_dim + 4;  // K, V, padding: a stride other than the rows' width
    std::vector<float> fresh(fresh_rows ? size_t(total_q) * fresh_stride : 0, std::numeric_limits<float>::quiet_NaN());
    // Decoded rows, [b][pos][kv_dim] with max_kv_len positions, for the reference.
    const int64_t seq_stride = int64_t(max_kv_len) * kv_dim;
    std::vector<float> k_decoded(size_t(batch_size) * seq_stride), v_decoded(k_decoded.size());
    const std::vector<float> q = round_to<__half>(random_floats(size_t(total_q) * q_row, seed));
    for (int b = 0; b < batch_size; ++b) {
        const int kv_len = c.sequences[b].kv_len;
        const std::vector<float> k = random_floats(size_t(kv_len) * kv_dim, seed * 7 + b);
        const std::vector<float> v = random_floats(size_t(kv_len) * kv_dim, seed * 7 + b + 100);
        // q4: the sequence's pending buffers are the rings of its last group's keys and (rotated) values...
        float* ring = layout.keys_by_channel() ? pending.data() + size_t(b) * group * kv_dim : nullptr;
        float* value_ring = layout.keys_by_channel() ? pending_values.data() + size_t(b) * group * kv_dim : nullptr;
        for (int pos = 0; pos < kv_len; ++pos)
            cpu::store_kv_position(layout, blocks.data() + block_id(b, pos) * block_bytes, pos, k.data() + pos * kv_dim,
                                   v.data() + pos * kv_dim, ring, value_ring);
        const int pending_first = cpu::kv_pending_first(kv_len);
        if (ring) {  // ...whose rows past the unfinished group, left from encoded groups, must never be read,
            for (float* r : {ring, value_ring})
                std::fill(r + (kv_len - pending_first) * kv_dim, r + group * kv_dim,
                          std::numeric_limits<float>::quiet_NaN());
            // nor the codes of the group's values in the blocks (NaN scales).
            for (int pos = pending_first; pos < kv_len; ++pos)
                for (int h = 0; h < c.n_kv_heads; ++h)
                    std::fill_n(blocks.data() + block_id(b, pos) * block_bytes +
                                    layout.row_scales_offset(true, pos % block_tokens, h),
                                layout.row_scales(true) * sizeof(uint16_t), uint8_t(0xff));
        }
        // Fresh rows: the queries' own positions, exact, where the QKV kernel leaves them; what the cache holds
        // for them is poisoned (row scales, the channel parameters of q4 key groups wholly fresh, pending rows:
        // fresh rows come first).
        const int q_len = batch.lengths.host_q_offsets[b + 1] - batch.lengths.host_q_offsets[b];
        const int fresh_first = kv_len - q_len;
        for (int pos = fresh_first; fresh_rows && pos < kv_len; ++pos) {
            float* row = fresh.data() + (batch.lengths.host_q_offsets[b] + pos - fresh_first) * fresh_stride;
            std::copy_n(k.data() + pos * kv_dim, kv_dim, row);
            std::copy_n(v.data() + pos * kv_dim, kv_dim, row + kv_dim);
            uint8_t* block = blocks.data() + block_id(b, pos) * block_bytes;
            for (int h = 0; h < c.n_kv_heads; ++h) {
                if (layout.keys_by_channel()) cpu::hadamard_rotate(row + kv_dim + h * c.head_dim, c.head_dim);
                for (const bool is_value : {false, true})
                    std::fill_n(block + layout.row_scales_offset(is_value, pos % block_tokens, h),
                                layout.row_scales(is_value) * sizeof(uint16_t), uint8_t(0xff));
                if (layout.keys_by_channel() && pos % group == 0 && pos + group <= cpu::kv_pending_first(kv_len))
                    std::fill_n(block + layout.key_channel_params_offset(pos % block_tokens, h),
                                2 * c.head_dim * sizeof(uint16_t), uint8_t(0xff));
            }
            if (ring && pos >= pending_first)
                for (float* r : {ring, value_ring})
                    std::fill_n(r + (pos - pending_first) * kv_dim, kv_dim, std::numeric_limits<float>::quiet_NaN());
        }
        std::vector<float> scratch(c.head_dim);
        for (int pos = 0; pos < kv_len; ++pos)
            for (int h = 0; h < c.n_kv_heads; ++h) {
                const uint8_t* block = blocks.data() + block_id(b, pos) * block_bytes;
                float* k_out = k_decoded.data() + b * seq_stride + pos * kv_dim + h * c.head_dim;
                float* v_out = v_decoded.data() + b * seq_stride + pos * kv_dim + h * c.head_dim;
                const bool exact_row = (layout.keys_by_channel() && pos >= pending_first) ||
                                       (fresh_rows && pos >= fresh_first);
                const float* key = exact_row ? k.data() + pos * kv_dim + h * c.head_dim
                                             : cpu::load_kv_row(layout, block, false, pos % block_tokens, h, scratch.data());
                std::copy_n(key, c.head_dim, k_out);
                const float* value = exact_row ? v.data() + pos * kv_dim + h * c.head_dim
                                               : cpu::load_kv_row(layout, block, true, pos % block_tokens, h, scratch.data());
                std::copy_n(value, c.head_dim, v_out);
            }
    }

    batch.reference = reference_attention(c, batch.lengths, q, k_decoded.data(), v_decoded.data(), seq_stride, kv_dim);

    batch.q = to_device(to_elements<__half>(q));
    batch.blocks = to_device(blocks);
    if (kv_case.paged) batch.block_tables = to_device(tables);
    if (!pending.empty()) {
        batch.pending_keys = to_device(pending);
        batch.pending_values = to_device(pending_values);
    }
    batch.kv.blocks = batch.blocks.data();
    batch.kv.layout = layout;
    batch.kv.block_stride_bytes = block_bytes;
    batch.kv.block_tables = kv_case.paged ? batch.block_tables.data() : nullptr;
    batch.kv.blocks_per_seq = kv_case.paged ? blocks_per_seq : 1;
    batch.kv.pending_keys = batch.pending_keys.data();
    batch.kv.pending_values = batch.pending_values.data();
    if (fresh_rows) {
        batch.fresh = to_device(fresh);
        batch.kv.attend_fresh_rows(batch.fresh.data(), batch.fresh.data() + kv_dim, fresh_stride);
    }

    batch.params = batch.lengths.params(c, true);
    return batch;
}

double relative_error_to_reference(const KvBlockBatch& batch, const cuda::DeviceBuffer<__half>& out) {
    return relative_error(to_floats(to_host(out)), batch.reference);
}

}  // namespace attn::test
