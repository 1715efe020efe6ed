#pragma once
// Keys and values of every layer for one sequence, in one of the formats of kernels/cpu/kv_quant.h (f32,
// fp16, q8, q4). Layouts: paged (fixed-size blocks from a pool through a block table, paged_kv_cache.h)
// or contiguous, which is the same cache with its blocks in order and no table (a single block that holds the
// whole context; q4: blocks of one key group). Rows are encoded when written; attention reads them through KvView.
#include <cstddef>
#include <memory>
#include <string>

#include "src/runtime/kv_view.h"

namespace attn {

enum class KvCacheType { Auto, F32, F16, Q8, Q4 };

KvCacheType parse_kv_cache_type(const std::string& name);  // throws attn::Error listing the names
const char* kv_cache_type_name(KvCacheType type);

struct KvCacheOptions {
    KvCacheType type = KvCacheType::Auto;  // auto: f32 on the CPU
    bool paged = false;
    int block_tokens = 16;  // positions per block when paged
};

class KvCache {
public:
    virtual ~KvCache() = default;
    // Appends n positions to `layer`: pos is the number it already holds. k, v: [n][n_kv_heads * head_dim].
    virtual void write(int layer, int pos, int n, const float* k, const float* v) = 0;
    virtual KvView view(int layer, int length) const = 0;
    virtual void reset() = 0;  // the sequence ended: forget every position, return blocks to the pool
    virtual int capacity_tokens() const = 0;
    virtual size_t bytes() const = 0;
    // "q8, 12.0 KiB per token (408 B per layer), paged (256 blocks of 16 tokens), 48.0 MiB for 4096 tokens"
    virtual std::string summary() const = 0;
};

// The block layout and pool size that `options` ask for, for caches of either device. `auto_format` is what
// KvCacheType::Auto means there (f32 on the CPU, fp16 on the GPU). Throws attn::Error for a format the
// model's head_dim cannot hold or a block size the format cannot use. Contiguous: blocks in order without a
// table, cpu::contiguous_block_tokens (one block of the whole context; q4 blocks of one key group).
struct KvCachePlan {
    cpu::KvBlockLayout layout;
    int n_blocks = 1;
    bool paged = false;
};
KvCachePlan plan_kv_cache(const KvCacheOptions& options, cpu::KvFormat auto_format, int n_kv_heads, int head_dim,
                          int capacity_tokens);

// "q8, 12.0 KiB per token (408 B per layer), paged (256 blocks of 16 tokens), 48.0 MiB for 4096 tokens"
std::string describe_kv_cache(const KvCachePlan& plan, int n_layers, size_t bytes, int capacity_tokens);

// The cache the CPU runtime builds; throws attn::Error for a format the model's head_dim cannot hold or
// a block size the format cannot use.
std::unique_ptr<KvCache> make_cpu_kv_cache(const KvCacheOptions& options, int n_layers, int n_kv_heads, int head_dim,
                                           int capacity_tokens);

}  // namespace attn
