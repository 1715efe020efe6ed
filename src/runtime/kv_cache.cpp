#include "src/runtime/kv_cache.h"

#include "src/common/error.h"
#include "src/common/format_bytes.h"
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

KvCachePlan plan_kv_cache(const KvCacheOptions& options, cpu::KvFormat auto_format, int n_kv_heads, int head_dim,
                          int capacity_tokens) {
    const cpu::KvFormat format = options.type == KvCacheType::Auto ? auto_format : kv_format(options.type);
    cpu::check_kv_format(format, head_dim);
    KvCachePlan plan;
    plan.layout = {format, n_kv_heads, head_dim, cpu::contiguous_block_tokens(format, capacity_tokens)};
    if (options.paged) {
        if (options.block_tokens <= 0)
            throw Error("--block-size must be a positive number of tokens, got " + std::to_string(options.block_tokens));
        if ((options.block_tokens & (options.block_tokens - 1)) != 0)
            throw Error("--block-size must be a power of two (the GPU kernels locate a position's block by a "
                        "shift), got " + std::to_string(options.block_tokens));
        if (plan.layout.keys_by_channel() && options.block_tokens % cpu::kQ4KeyGroup != 0)
            throw Error(std::string("--kv-cache ") + cpu::kv_format_name(format) + " --paged needs --block-size to be a " +
                        "multiple of " + std::to_string(cpu::kQ4KeyGroup) + " (it encodes keys per channel over " +
                        std::to_string(cpu::kQ4KeyGroup) + " positions), got " + std::to_string(options.block_tokens) +
                        "; use --block-size " + std::to_string(cpu::kQ4KeyGroup) + " or more");
        plan.layout.block_tokens = options.block_tokens;
        plan.paged = true;
    }
    plan.n_blocks = (capacity_tokens + plan.layout.block_tokens - 1) / plan.layout.block_tokens;
    return plan;
}

std::string describe_kv_cache(const KvCachePlan& plan, int n_layers, size_t bytes, int capacity_tokens) {
    const cpu::KvBlockLayout& layout = plan.layout;
    const int64_t per_layer = cpu::kv_bytes_per_token_per_layer(layout.format, layout.n_kv_heads, layout.head_dim);
    const std::string arrangement = plan.paged ? "paged (" + std::to_string(plan.n_blocks) + " blocks of " +
                                                     std::to_string(layout.block_tokens) + " tokens)"
                                               : std::string("contiguous");
    return std::string(cpu::kv_format_name(layout.format)) + ", " + format_bytes(double(per_layer) * n_layers) +
           " per token (" + std::to_string(per_layer) + " B per layer), " + arrangement + ", " +
           format_bytes(double(bytes)) + " for " + std::to_string(capacity_tokens) + " tokens";
}

std::unique_ptr<KvCache> make_cpu_kv_cache(const KvCacheOptions& options, int n_layers, int n_kv_heads, int head_dim,
                                           int capacity_tokens) {
    const KvCachePlan plan = plan_kv_cache(options, cpu::KvFormat::F32, n_kv_heads, head_dim, capacity_tokens);
    return std::make_unique<PagedKvCache>(std::make_shared<KvBlockPool>(plan.layout, n_layers, plan.n_blocks),
                                          capacity_tokens, plan.paged);
}

}  // namespace attn
