#include "src/runtime/kv_block_allocator.h"

#include <string>

#include "src/common/error.h"

namespace attn {

KvBlockAllocator::KvBlockAllocator(int n_blocks, int block_tokens) : n_blocks_(n_blocks), block_tokens_(block_tokens) {
    ATTN_ASSERT(block_tokens > 0 && n_blocks > 0);
    for (int32_t id = n_blocks - 1; id >= 0; --id) free_.push_back(id);  // block 0 on top
}

std::vector<int32_t> KvBlockAllocator::allocate(int count) {
    if (count > free_blocks())
        throw Error("KV cache pool exhausted: " + std::to_string(n_blocks_ - free_blocks()) + " of " +
                    std::to_string(n_blocks_) + " blocks of " + std::to_string(block_tokens_) +
                    " tokens are in use and " + std::to_string(count) +
                    " more are needed; raise -c/--ctx-size or use a smaller --kv-cache");
    std::vector<int32_t> blocks(free_.rbegin(), free_.rbegin() + count);
    free_.resize(free_.size() - count);
    return blocks;
}

void KvBlockAllocator::release(const std::vector<int32_t>& blocks) {
    for (auto it = blocks.rbegin(); it != blocks.rend(); ++it) {
        ATTN_ASSERT(*it >= 0 && *it < n_blocks_ && free_blocks() < n_blocks_);
        free_.push_back(*it);
    }
}

KvBlockTable::KvBlockTable(std::shared_ptr<KvBlockAllocator> allocator, int capacity_tokens)
    : allocator_(std::move(allocator)) {
    table_.reserve((capacity_tokens + allocator_->block_tokens() - 1) / allocator_->block_tokens());
}

void KvBlockTable::cover(int tokens) {
    const int block_tokens = allocator_->block_tokens();
    const int needed = (tokens + block_tokens - 1) / block_tokens - int(table_.size());
    if (needed <= 0) return;
    ATTN_ASSERT(table_.size() + needed <= table_.capacity());
    const std::vector<int32_t> blocks = allocator_->allocate(needed);
    table_.insert(table_.end(), blocks.begin(), blocks.end());
}

void KvBlockTable::release() {
    allocator_->release(table_);
    table_.clear();
}

}  // namespace attn
