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

GpuBackendPlan choose_gpu_backends(AttentionBackend requested, int sm, int head_dim) {
    const std::string gpu = "sm_" + std::to_string(sm) + ", head_dim " + std::to_string(head_dim);
    if (requested != AttentionBackend::Auto) {
        require_backend_supports(requested, head_dim);  // throws naming an alternative
        const BackendChoice choice{requested, "requested (" + gpu + ")"};
        return {choice, choice};
    }
    if (backend_is_built(AttentionBackend::Flash, head_dim)) {
        const BackendChoice decode{AttentionBackend::Flash, "auto: split-K flash-decoding reads K/V once (" + gpu + ")"};
        if (sm >= 75)
            return {{AttentionBackend::Flash, "auto: flash with mma tensor cores (" + gpu + ")"}, decode};
        return {{AttentionBackend::Xformers, "auto: no mma tensor cores, xformers' SIMT tiles (" + gpu + ")"}, decode};
    }
    require_backend_supports(AttentionBackend::Sdp, head_dim);
    return {{AttentionBackend::Sdp, "auto: flash is not built for " + gpu + ", cuBLAS sdp"},
            {AttentionBackend::Naive, "auto: flash is not built for " + gpu + ", naive decode runs in CUDA graphs"}};
}

bool backend_allows_graphs(AttentionBackend backend) {
    return backend != AttentionBackend::Sdp;
}

}  // namespace attn::cuda
