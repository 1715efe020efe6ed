#include "src/runtime/kv_cache.h"

#include "src/common/error.h"
#include "src/runtime/paged_kv_cache.h"

namespace attn {
namespace {

cpu::KvFormat kv_format(KvCacheType type) {
    switch (type) {
        case KvCacheType::Auto:
        case KvCacheType::F32: return cpu::KvFormat::F32;
        case KvCacheType::F16: return cpu::KvFormat::F16;
        case KvCacheType::Q8: return cpu::KvFormat::Q8;
        case KvCacheType::Q4: return cpu::KvFormat::Q4;
    }
    return cpu::KvFormat::F32;
}

}  // namespace

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

std::unique_ptr<KvCache> make_cpu_kv_cache(const KvCacheOptions& options, int n_layers, int n_kv_heads, int head_dim,
                                           int capacity_tokens) {
    const cpu::KvFormat format = kv_format(options.type);
    cpu::check_kv_format(format, head_dim);
    cpu::KvBlockLayout layout{format, n_kv_heads, head_dim, capacity_tokens};
    if (layout.keys_by_channel()) layout.block_tokens = (capacity_tokens + cpu::kKvGroup - 1) / cpu::kKvGroup * cpu::kKvGroup;
    if (options.paged) {
        if (options.block_tokens <= 0)
            throw Error("--block-size must be a positive number of tokens, got " + std::to_string(options.block_tokens));
        if (layout.keys_by_channel() && options.block_tokens % cpu::kKvGroup != 0)
            throw Error(std::string("--kv-cache ") + cpu::kv_format_name(format) + " --paged needs --block-size to be a " +
                        "multiple of 32 (it encodes keys per channel over 32 positions), got " +
                        std::to_string(options.block_tokens) + "; use --block-size 32 or 64");
        layout.block_tokens = options.block_tokens;
    }
    const int n_blocks = (capacity_tokens + layout.block_tokens - 1) / layout.block_tokens;
    return std::make_unique<PagedKvCache>(std::make_shared<KvBlockPool>(layout, n_layers, n_blocks), capacity_tokens);
}

}  // namespace attn
