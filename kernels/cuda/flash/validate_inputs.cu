#include "kernels/cuda/flash/validate_inputs.h"

#include <cstdint>
#include <string>

#include "kernels/cuda/flash/head_dim_switch.h"
#include "src/common/error.h"

namespace attn::cuda {

namespace {

bool aligned_16_bytes(const void* pointer) { return reinterpret_cast<uintptr_t>(pointer) % 16 == 0; }

}  // namespace

void validate_tiled_attention_inputs(const AttentionParams& p, const void* q, const KvCacheView& kv, const void* out,
                                     const char* backend) {
    validate_attention_params(p);
    const std::string name = backend;
    if (!is_built_head_dim(p.head_dim))
        throw Error("head_dim " + std::to_string(p.head_dim) + " is not built for " + name + "; use --attn-backend sdp or naive");
    if (p.window < 0) throw Error(name + " attention: window must be 0 (none) or positive");
    validate_kv_cache_view(kv, p.n_kv_heads, p.head_dim);
    // Rows are moved in 16-byte pieces: every row start must be a multiple of 8 elements. Blocks keep their
    // code rows 16-byte aligned when the pool and the block size are (kernels/cpu/kv_quant.h).
    const bool kv_aligned = kv.in_blocks() ? aligned_16_bytes(kv.blocks) && kv.block_stride_bytes % 16 == 0 &&
                                                 aligned_16_bytes(kv.pending_keys) &&
                                                 aligned_16_bytes(kv.pending_values) &&
                                                 aligned_16_bytes(kv.fresh_keys) && aligned_16_bytes(kv.fresh_values) &&
                                                 kv.fresh_stride % 4 == 0
                                           : aligned_16_bytes(kv.k) && aligned_16_bytes(kv.v) &&
                                                 kv.token_stride % 8 == 0 && kv.seq_stride % 8 == 0;
    if (!aligned_16_bytes(q) || !aligned_16_bytes(out) || !kv_aligned)
        throw Error(name + " attention needs 16-byte aligned q/out/K/V rows (strides multiples of 8 elements); use --attn-backend sdp or naive");
}

}  // namespace attn::cuda
