#pragma once
// Keys and values of every layer for one sequence. The CPU runtime holds them as fp32 rows in one
// contiguous block per layer; the paged and quantized layouts implement the same interface.
#include <cstddef>
#include <memory>
#include <string>
#include <vector>

#include "src/runtime/kv_view.h"

namespace attn {

enum class KvCacheType { Auto, F32, F16, Q8, Q4 };

KvCacheType parse_kv_cache_type(const std::string& name);  // throws attn::Error listing the names
const char* kv_cache_type_name(KvCacheType type);

class KvCache {
public:
    virtual ~KvCache() = default;
    // Stores n positions starting at `pos`; k and v are [n][n_kv_heads * head_dim].
    virtual void write(int layer, int pos, int n, const float* k, const float* v) = 0;
    virtual KvView view(int layer, int length) const = 0;
    virtual int capacity_tokens() const = 0;
    virtual size_t bytes() const = 0;
};

class ContiguousKvCache final : public KvCache {
public:
    ContiguousKvCache(int n_layers, int n_kv_heads, int head_dim, int capacity_tokens);
    void write(int layer, int pos, int n, const float* k, const float* v) override;
    KvView view(int layer, int length) const override;
    int capacity_tokens() const override { return capacity_; }
    size_t bytes() const override { return (k_.size() + v_.size()) * sizeof(float); }

private:
    int n_layers_, kv_dim_, head_dim_, capacity_;
    std::vector<float> k_, v_;  // [layer][pos][kv_dim]
};

// The cache the CPU runtime builds for `type`; q8/q4/f16 are GPU-side layouts for now and are refused
// with a message saying so.
std::unique_ptr<KvCache> make_cpu_kv_cache(KvCacheType type, int n_layers, int n_kv_heads, int head_dim,
                                           int capacity_tokens);

}  // namespace attn
