#include "src/runtime/paged_kv_cache.h"

#include <algorithm>

#include "src/common/error.h"

namespace attn {

KvBlockPool::KvBlockPool(const cpu::KvBlockLayout& layout, int n_layers, int n_blocks)
    : layout_(layout), n_layers_(n_layers), n_blocks_(n_blocks),
      storage_(size_t(n_layers) * n_blocks * layout.block_bytes()),
      allocator_(std::make_shared<KvBlockAllocator>(n_blocks, layout.block_tokens)) {}

PagedKvCache::PagedKvCache(std::shared_ptr<KvBlockPool> pool, int capacity_tokens, bool paged)
    : pool_(std::move(pool)), capacity_(capacity_tokens), paged_(paged), table_(pool_->allocator(), capacity_tokens),
      length_(pool_->n_layers(), 0) {
    const cpu::KvBlockLayout& layout = pool_->layout();
    if (layout.keys_by_channel()) {
        const size_t ring = size_t(cpu::kQ4KeyGroup) * layout.n_kv_heads * layout.head_dim;
        recent_keys_.assign(pool_->n_layers(), std::vector<float>(ring));
        recent_values_ = recent_keys_;
    }
}

void PagedKvCache::reset() {
    table_.release();
    std::fill(length_.begin(), length_.end(), 0);
}

size_t PagedKvCache::bytes() const {
    size_t recent = 0;
    for (const auto& rows : recent_keys_) recent += 2 * rows.size() * sizeof(float);
    return pool_->bytes() + recent;
}

void PagedKvCache::write(int layer, int pos, int n, const float* k, const float* v) {
    ATTN_ASSERT(layer >= 0 && layer < pool_->n_layers() && pos == length_[layer] && pos + n <= capacity_);
    table_.cover(pos + n);
    const cpu::KvBlockLayout& layout = pool_->layout();
    const int64_t kv_dim = int64_t(layout.n_kv_heads) * layout.head_dim;
    const bool rings = layout.keys_by_channel();
    for (int t = 0; t < n; ++t) {
        const int p = pos + t;
        cpu::store_kv_position(layout, block_of(layer, p), p, k + t * kv_dim, v + t * kv_dim,
                               rings ? recent_keys_[layer].data() : nullptr);
        if (rings) std::copy_n(v + t * kv_dim, kv_dim, recent_values_[layer].data() + (p % cpu::kQ4KeyGroup) * kv_dim);
    }
    length_[layer] = pos + n;
}

KvView PagedKvCache::view(int layer, int length) const {
    const cpu::KvBlockLayout& layout = pool_->layout();
    ATTN_ASSERT(layer >= 0 && layer < pool_->n_layers() && length <= length_[layer]);
    KvView view;
    view.head_dim = layout.head_dim;
    view.length = length;
    if (layout.format == cpu::KvFormat::F32 && pool_->total_blocks() == 1) {  // contiguous: rows in place
        const uint8_t* block = pool_->layer_base(layer);
        view.k = reinterpret_cast<const float*>(block + layout.codes_offset(false, 0, 0));
        view.v = reinterpret_cast<const float*>(block + layout.codes_offset(true, 0, 0));
        view.token_stride = int64_t(layout.n_kv_heads) * layout.head_dim;
        return view;
    }
    view.blocks = {layout, pool_->layer_base(layer), layout.block_bytes(), table_.blocks().data()};
    if (layout.keys_by_channel()) {
        view.blocks.recent_keys = recent_keys_[layer].data();
        view.blocks.recent_values = recent_values_[layer].data();
        view.blocks.recent_first = std::max(0, length_[layer] - cpu::kQ4KeyGroup);
    }
    return view;
}

std::string PagedKvCache::summary() const {
    const KvCachePlan plan{pool_->layout(), pool_->total_blocks(), paged_};
    return describe_kv_cache(plan, pool_->n_layers(), bytes(), capacity_);
}

}  // namespace attn
