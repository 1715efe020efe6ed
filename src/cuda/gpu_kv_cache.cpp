#include "src/cuda/gpu_kv_cache.h"

#include "src/cuda/check.h"

namespace attn::cuda {
namespace {

KvCachePlan plan_gpu_kv_cache(const KvCacheOptions& options, int n_kv_heads, int head_dim, int capacity_tokens) {
    if (options.type == KvCacheType::F32)
        throw Error("--kv-cache f32 is a CPU format; the GPU KV cache holds fp16, q8 or q4 (use --kv-cache fp16)");
    KvCachePlan plan = plan_kv_cache(options, cpu::KvFormat::F16, n_kv_heads, head_dim, capacity_tokens);
    if (!GpuKvCache::rows_strided(plan)) check_kv_block_bytes(plan.layout);  // before allocating, not at the first call
    return plan;
}

size_t pending_floats(const cpu::KvBlockLayout& layout, int n_layers) {  // keys and values
    return layout.keys_by_channel() ? size_t(n_layers) * 2 * cpu::kQ4KeyGroup * layout.n_kv_heads * layout.head_dim : 0;
}

}  // namespace

GpuKvCache::GpuKvCache(const KvCacheOptions& options, int n_layers, int n_kv_heads, int head_dim, int capacity_tokens)
    : plan_(plan_gpu_kv_cache(options, n_kv_heads, head_dim, capacity_tokens)), n_layers_(n_layers),
      capacity_(capacity_tokens),
      pool_(size_t(n_layers) * plan_.n_blocks * plan_.layout.block_bytes(), "KV cache"),
      pending_(pending_floats(plan_.layout, n_layers), "KV cache (pending q4 rows)"),
      table_device_(plan_.paged ? plan_.n_blocks : 0, "KV cache (block table)"),
      allocator_(std::make_shared<KvBlockAllocator>(plan_.n_blocks, plan_.layout.block_tokens)),
      table_(std::make_unique<KvBlockTable>(allocator_, capacity_tokens)) {}

void GpuKvCache::cover(int tokens, cudaStream_t stream) {
    ATTN_ASSERT(tokens <= capacity_);
    table_->cover(tokens);
    const std::vector<int32_t>& blocks = table_->blocks();
    if (!plan_.paged || int(blocks.size()) == uploaded_) return;
    // The table's storage is reserved for the whole context, so the source outlives the asynchronous copy.
    CUDA_CHECK(cudaMemcpyAsync(table_device_.data() + uploaded_, blocks.data() + uploaded_,
                               (blocks.size() - uploaded_) * sizeof(int32_t), cudaMemcpyHostToDevice, stream));
    uploaded_ = int(blocks.size());
}

void GpuKvCache::reset() {
    table_->release();
    uploaded_ = 0;
}

int64_t GpuKvCache::row_of(int pos) const {
    // A contiguous cache's blocks are in order (the view has no table: block pos / block_tokens), whatever
    // order the allocator would hand them out in.
    if (!plan_.paged) return pos;
    const int block_tokens = plan_.layout.block_tokens;
    return int64_t(table_->block_of(pos)) * block_tokens + pos % block_tokens;
}

float* GpuKvCache::layer_pending(int layer, bool is_value) const {
    const cpu::KvBlockLayout& layout = plan_.layout;
    const size_t rows = size_t(cpu::kQ4KeyGroup) * layout.n_kv_heads * layout.head_dim;
    return pending_.size() ? pending_.data() + (2 * size_t(layer) + is_value) * rows : nullptr;
}

KvCacheWrite GpuKvCache::write_target(int layer) {
    KvCacheWrite target;
    target.layout = plan_.layout;
    target.blocks = layer_blocks(layer);
    target.block_stride_bytes = plan_.layout.block_bytes();
    target.pending_keys = layer_pending(layer, false);
    target.pending_values = layer_pending(layer, true);
    return target;
}

KvCacheView GpuKvCache::view(int layer) const {
    const cpu::KvBlockLayout& layout = plan_.layout;
    const uint8_t* blocks = layer_blocks(layer);
    KvCacheView view;
    if (rows_strided()) {  // the 16-bit rows of the model's element type, K then V
        view.k = blocks + layout.codes_offset(false, 0, 0);
        view.v = blocks + layout.codes_offset(true, 0, 0);
        view.token_stride = int64_t(layout.n_kv_heads) * layout.head_dim;
        view.seq_stride = view.token_stride * layout.block_tokens;
        return view;
    }
    view.blocks = blocks;
    view.layout = layout;
    view.block_stride_bytes = layout.block_bytes();
    view.block_tables = plan_.paged ? table_device_.data() : nullptr;
    view.blocks_per_seq = plan_.n_blocks;
    view.pending_keys = layer_pending(layer, false);
    view.pending_values = layer_pending(layer, true);
    return view;
}

}  // namespace attn::cuda
