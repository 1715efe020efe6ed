#pragma once
// Paged KV cache (vLLM's PagedAttention layout): the memory is one pool of fixed-size blocks of
// `block_tokens` positions; each sequence owns a block table whose entry i names the block that holds
// positions [i·B, (i+1)·B). A block id names the same block in every layer, so one table serves all layers.
// Blocks are taken when a write first reaches them and returned when the sequence ends (reset), so
// sequences sharing a pool hold only what they use. A pool of one block of the whole context is the
// contiguous layout; f32 is then read in place through KvView's fast path.
#include <memory>
#include <vector>

#include "src/runtime/kv_block_allocator.h"
#include "src/runtime/kv_cache.h"

namespace attn {

class KvBlockPool {
public:
    KvBlockPool(const cpu::KvBlockLayout& layout, int n_layers, int n_blocks);

    const std::shared_ptr<KvBlockAllocator>& allocator() const { return allocator_; }
    const cpu::KvBlockLayout& layout() const { return layout_; }
    int n_layers() const { return n_layers_; }
    int total_blocks() const { return n_blocks_; }
    int free_blocks() const { return allocator_->free_blocks(); }
    size_t bytes() const { return storage_.size(); }
    uint8_t* block(int layer, int32_t id) { return storage_.data() + (int64_t(layer) * n_blocks_ + id) * layout_.block_bytes(); }
    const uint8_t* layer_base(int layer) const { return storage_.data() + int64_t(layer) * n_blocks_ * layout_.block_bytes(); }

private:
    cpu::KvBlockLayout layout_;
    int n_layers_, n_blocks_;
    std::vector<uint8_t> storage_;  // [layer][block] of layout_.block_bytes()
    std::shared_ptr<KvBlockAllocator> allocator_;
};

// One sequence's cache: a block table into a (possibly shared) pool.
class PagedKvCache final : public KvCache {
public:
    // paged: whether the summary calls it paged (a contiguous cache is this class with its blocks in order).
    PagedKvCache(std::shared_ptr<KvBlockPool> pool, int capacity_tokens, bool paged);

    void write(int layer, int pos, int n, const float* k, const float* v) override;
    KvView view(int layer, int length) const override;
    void reset() override;
    int capacity_tokens() const override { return capacity_; }
    size_t bytes() const override;
    std::string summary() const override;
    const std::vector<int32_t>& block_table() const { return table_.blocks(); }

private:
    uint8_t* block_of(int layer, int pos) { return pool_->block(layer, table_.block_of(pos)); }

    std::shared_ptr<KvBlockPool> pool_;
    int capacity_;
    bool paged_;
    KvBlockTable table_;
    std::vector<int> length_;     // positions written, per layer
    // q4, per layer: the keys and values of the last kQ4KeyGroup positions, exact, by pos % kQ4KeyGroup (kv_view.h).
    std::vector<std::vector<float>> recent_keys_, recent_values_;
};

}  // namespace attn
