#pragma once
// Which blocks of a paged KV cache pool are free, and one sequence's block table into such a pool. Shared by
// the CPU cache (paged_kv_cache.h) and the GPU cache (src/cuda/gpu_kv_cache.h), which differ only in where
// the block bytes live: the bookkeeping, its order of reuse and its exhaustion error are the same.
#include <cstdint>
#include <memory>
#include <vector>

namespace attn {

class KvBlockAllocator {
public:
    KvBlockAllocator(int n_blocks, int block_tokens);

    // Takes `count` blocks, all or none: throws attn::Error (and takes nothing) when fewer are free.
    std::vector<int32_t> allocate(int count);
    void release(const std::vector<int32_t>& blocks);

    int total_blocks() const { return n_blocks_; }
    int free_blocks() const { return int(free_.size()); }
    int block_tokens() const { return block_tokens_; }

private:
    int n_blocks_, block_tokens_;
    std::vector<int32_t> free_;  // a stack: the block released last is reused first
};

// Entry i names the block that holds positions [i·B, (i+1)·B). Blocks are taken when a write first reaches
// them and returned by release() (the sequence ended) or the destructor.
class KvBlockTable {
public:
    KvBlockTable(std::shared_ptr<KvBlockAllocator> allocator, int capacity_tokens);
    ~KvBlockTable() { release(); }
    KvBlockTable(const KvBlockTable&) = delete;
    KvBlockTable& operator=(const KvBlockTable&) = delete;

    // Makes the table reach `tokens` positions; throws (taking nothing) when the pool cannot serve it.
    void cover(int tokens);
    void release();
    const std::vector<int32_t>& blocks() const { return table_; }  // reserved up front: data() stays valid
    int32_t block_of(int pos) const { return table_[pos / allocator_->block_tokens()]; }

private:
    std::shared_ptr<KvBlockAllocator> allocator_;
    std::vector<int32_t> table_;
};

}  // namespace attn
