#pragma once
// Which attention backend a GPU runs for prefill and for decode, and why (the log prints the reasons).
// `auto` follows this table (also in the README), as PyTorch SDPA's dispatcher picks per device and shape:
//   head_dim built for flash (64, 80, 96, 128, 256):
//     sm_75 and newer (mma tensor cores)   prefill flash     decode flash (split-K)
//     sm_60 / sm_61 / sm_70 (SIMT)         prefill xformers  decode flash (split-K, bandwidth-bound)
//   any other even head_dim <= 256         prefill sdp       decode naive (graph-capturable)
// A backend named explicitly runs both phases, or is refused with a message naming one that can.
#include "src/runtime/attention_backend.h"

namespace attn::cuda {

struct GpuBackendPlan {
    BackendChoice prefill;
    BackendChoice decode;
};

GpuBackendPlan choose_gpu_backends(AttentionBackend requested, int sm, int head_dim);
// Whether the backend reads sequence lengths only from device memory, so a decode step can be captured
// once in a CUDA graph and replayed at every position.
bool backend_allows_graphs(AttentionBackend backend);

}  // namespace attn::cuda
