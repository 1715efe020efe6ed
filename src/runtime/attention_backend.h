#pragma once
// The attention backends a user can name (--attn-backend, ATTN_INFER_ATTN_BACKEND, config "attn_backend"),
// and the choice each device makes for `auto`, with the reason the log prints.
#include <string>

namespace attn {

enum class AttentionBackend { Auto, Flash, Xformers, Sdp, Naive };

// Throws attn::Error listing the valid names.
AttentionBackend parse_attention_backend(const std::string& name);
const char* attention_backend_name(AttentionBackend backend);

struct BackendChoice {
    AttentionBackend backend;
    std::string reason;
};

// On the CPU flash and xformers both run the tiled online-softmax kernel; auto picks it for its O(n) memory.
BackendChoice choose_cpu_backend(AttentionBackend requested);

}  // namespace attn
