#include "src/runtime/kv_cache.h"

#include <algorithm>

#include "src/common/error.h"

namespace attn {

KvCacheType parse_kv_cache_type(const std::string& name) {
    if (name == "auto") return KvCacheType::Auto;
    if (name == "f32" || name == "fp32") return KvCacheType::F32;
    if (name == "f16" || name == "fp16") return KvCacheType::F16;
    if (name == "q8") return KvCacheType::Q8;
    if (name == "q4") return KvCacheType::Q4;
    throw Error("unknown KV cache type '" + name + "' (choose auto, f32, fp16, q8 or q4)");
}

const char* kv_cache_type_name(KvCacheType type) {
    switch (type) {
        case KvCacheType::Auto: return "auto";
        case KvCacheType::F32: return "f32";
        case KvCacheType::F16: return "fp16";
        case KvCacheType::Q8: return "q8";
        case KvCacheType::Q4: return "q4";
    }
    return "?";
}

ContiguousKvCache::ContiguousKvCache(int n_layers, int n_kv_heads, int head_dim, int capacity_tokens)
    : n_layers_(n_layers), kv_dim_(n_kv_heads * head_dim), head_dim_(head_dim), capacity_(capacity_tokens),
      k_(size_t(n_layers) * capacity_tokens * kv_dim_), v_(k_.size()) {}

void ContiguousKvCache::write(int layer, int pos, int n, const float* k, const float* v) {
    ATTN_ASSERT(layer >= 0 && layer < n_layers_ && pos >= 0 && pos + n <= capacity_);
    const size_t offset = (size_t(layer) * capacity_ + pos) * kv_dim_;
    std::copy(k, k + size_t(n) * kv_dim_, k_.begin() + offset);
    std::copy(v, v + size_t(n) * kv_dim_, v_.begin() + offset);
}

KvView ContiguousKvCache::view(int layer, int length) const {
    ATTN_ASSERT(length <= capacity_);
    const size_t offset = size_t(layer) * capacity_ * kv_dim_;
    return KvView{k_.data() + offset, v_.data() + offset, kv_dim_, head_dim_, length};
}

std::unique_ptr<KvCache> make_cpu_kv_cache(KvCacheType type, int n_layers, int n_kv_heads, int head_dim,
                                           int capacity_tokens) {
    if (type != KvCacheType::Auto && type != KvCacheType::F32)
        throw Error(std::string("--kv-cache ") + kv_cache_type_name(type) +
                    " is not available on the CPU yet; the CPU cache holds f32 (use --kv-cache auto or f32)");
    return std::make_unique<ContiguousKvCache>(n_layers, n_kv_heads, head_dim, capacity_tokens);
}

}  // namespace attn
