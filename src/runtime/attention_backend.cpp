#include "src/runtime/attention_backend.h"

#include "src/common/error.h"

namespace attn {

AttentionBackend parse_attention_backend(const std::string& name) {
    if (name == "auto") return AttentionBackend::Auto;
    if (name == "flash") return AttentionBackend::Flash;
    if (name == "xformers") return AttentionBackend::Xformers;
    if (name == "sdp") return AttentionBackend::Sdp;
    if (name == "naive") return AttentionBackend::Naive;
    throw Error("unknown attention backend '" + name + "' (choose auto, flash, xformers, sdp or naive)");
}

const char* attention_backend_name(AttentionBackend backend) {
    switch (backend) {
        case AttentionBackend::Auto: return "auto";
        case AttentionBackend::Flash: return "flash";
        case AttentionBackend::Xformers: return "xformers";
        case AttentionBackend::Sdp: return "sdp";
        case AttentionBackend::Naive: return "naive";
    }
    return "?";
}

BackendChoice choose_cpu_backend(AttentionBackend requested) {
    switch (requested) {
        case AttentionBackend::Auto:
            return {AttentionBackend::Flash, "auto on CPU: tiled online softmax, O(n) memory, skips masked tiles"};
        case AttentionBackend::Flash:
            return {AttentionBackend::Flash, "requested; CPU runs the tiled online-softmax kernel"};
        case AttentionBackend::Xformers:
            return {AttentionBackend::Xformers, "requested; CPU runs the tiled online-softmax kernel with larger tiles"};
        case AttentionBackend::Sdp:
            return {AttentionBackend::Sdp, "requested; materialises the score matrix one head at a time"};
        case AttentionBackend::Naive:
            return {AttentionBackend::Naive, "requested; reference loops, double accumulation"};
    }
    ATTN_ASSERT(false);
}

}  // namespace attn
