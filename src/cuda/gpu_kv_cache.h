#pragma once
// The GPU KV cache of one sequence in any GPU format (fp16, q8, q4) and layout (contiguous, or paged: one
// device pool of blocks, a host-side allocator shared with the CPU cache, a device block table). The bytes
// of a block are those of kernels/cpu/kv_quant.h, so the CPU decoders read what the GPU wrote. q4 keeps the
// unfinished group of 64 positions' keys and values per layer in fp32 (pending rows): the keys wait there for
// their group to be encoded, and attention reads both exact (attention.h).
#include <cstdint>
#include <memory>
#include <string>

#include <cuda_runtime.h>

#include "kernels/cuda/attention.h"
#include "kernels/cuda/kv_cache_write.h"
#include "src/cuda/device_allocator.h"
#include "src/runtime/kv_block_allocator.h"
#include "src/runtime/kv_cache.h"

namespace attn::cuda {

class GpuKvCache {
public:
    // Throws attn::Error for f32 (CPU only) and for what plan_kv_cache rejects.
    GpuKvCache(const KvCacheOptions& options, int n_layers, int n_kv_heads, int head_dim, int capacity_tokens);

    // Makes positions [0, tokens) writable: paged caches take blocks (the pool-exhausted error of the CPU
    // cache when it cannot, taking none) and copy the new table entries to the device on `stream`.
    void cover(int tokens, cudaStream_t stream);
    void reset();                      // the sequence ended: its blocks go back to the pool
    int64_t row_of(int pos) const;     // the cache row of a covered position (kv_cache_write.h)
    KvCacheWrite write_target(int layer);
    KvCacheView view(int layer) const;
    // fp16 contiguous: the views are plain strided rows (cuBLAS and cp.async read them in place), not blocks.
    static bool rows_strided(const KvCachePlan& plan) { return plan.layout.format == cpu::KvFormat::F16 && !plan.paged; }
    bool rows_strided() const { return rows_strided(plan_); }

    int capacity_tokens() const { return capacity_; }
    const cpu::KvBlockLayout& layout() const { return plan_.layout; }
    size_t bytes() const { return pool_.bytes() + pending_.bytes() + table_device_.bytes(); }
    std::string summary() const { return describe_kv_cache(plan_, n_layers_, bytes(), capacity_); }

private:
    uint8_t* layer_blocks(int layer) const {
        return pool_.data() + size_t(layer) * plan_.n_blocks * plan_.layout.block_bytes();
    }
    float* layer_pending(int layer, bool is_value) const;  // null unless q4

    KvCachePlan plan_;
    int n_layers_, capacity_;
    DeviceBuffer<uint8_t> pool_;     // [layer][block] of layout().block_bytes()
    DeviceBuffer<float> pending_;    // q4: [layer][keys, values][64][n_kv_heads][head_dim]
    DeviceBuffer<int32_t> table_device_;  // paged: the block table, its first uploaded_ entries current
    std::shared_ptr<KvBlockAllocator> allocator_;
    std::unique_ptr<KvBlockTable> table_;
    int uploaded_ = 0;
};

}  // namespace attn::cuda
