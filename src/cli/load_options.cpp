#include "src/cli/load_options.h"

#include <string>

namespace attn {

LoadOptions load_options_from(const Settings& s) {
    LoadOptions load;
    load.device = s.str("device");
    load.dtype = s.str("dtype");
    load.backend = parse_attention_backend(s.str("attn_backend"));
    // perplexity takes a list of cache types and sets one per model itself.
    const std::string& kv_cache = s.str("kv_cache.dtype");
    if (kv_cache.find(',') == std::string::npos) load.kv_cache = parse_kv_cache_type(kv_cache);
    load.kv_paged = s.flag("kv_cache.paged");
    load.kv_block_tokens = s.integer("kv_cache.block_size");
    load.context_size = s.integer("ctx_size");
    load.threads = s.integer("threads");
    load.batch_tokens = s.integer("batch_size");
    load.gpu_mem_limit = s.str("gpu_mem_limit");
    load.cuda_graphs = s.flag("cuda_graphs");
    return load;
}

}  // namespace attn
