#include "src/cuda/gpu_backend_choice.h"

#include <string>

#include "src/common/error.h"

namespace attn::cuda {
namespace {

bool backend_is_built(AttentionBackend backend, int head_dim) {
    switch (backend) {
        case AttentionBackend::Naive:
        case AttentionBackend::Sdp: return head_dim % 2 == 0 && head_dim <= 256;
        case AttentionBackend::Flash:
        case AttentionBackend::Xformers:
            return head_dim == 64 || head_dim == 80 || head_dim == 96 || head_dim == 128 || head_dim == 256;
        case AttentionBackend::Auto: return false;
    }
    return false;
}

void require_backend_supports(AttentionBackend backend, int head_dim) {
    if (backend_is_built(backend, head_dim)) return;
    if (backend == AttentionBackend::Flash || backend == AttentionBackend::Xformers)
        throw Error(std::string("--attn-backend ") + attention_backend_name(backend) + " is built for head_dim 64, 80, "
                    "96, 128 and 256, not " + std::to_string(head_dim) + "; use sdp or naive");
    throw Error(std::string("--attn-backend ") + attention_backend_name(backend) + " cannot run head_dim " +
                std::to_string(head_dim) + " on the GPU; use --device cpu");
}

}  // namespace

BackendChoice choose_gpu_backend(AttentionBackend requested, int sm, int head_dim) {
    const std::string gpu = "sm_" + std::to_string(sm) + ", head_dim " + std::to_string(head_dim);
    if (requested != AttentionBackend::Auto) {
        require_backend_supports(requested, head_dim);  // throws naming an alternative
        return {requested, "requested (" + gpu + ")"};
    }
    if (backend_is_built(AttentionBackend::Flash, head_dim))
        return {AttentionBackend::Flash, "auto: flash is built for " + gpu + "; O(n) memory"};
    return {AttentionBackend::Sdp, "auto: flash is not available for " + gpu + "; sdp uses cuBLAS"};
}

bool backend_allows_graphs(AttentionBackend backend) {
    return backend != AttentionBackend::Sdp;
}

}  // namespace attn::cuda
