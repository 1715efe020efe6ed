#pragma once
// Which attention backend a GPU runs, and why (the log prints the reason). The table, as in the README:
//   flash     tensor cores on sm_75+ (m16n8k8 on sm_75, m16n8k16 + cp.async on sm_80+), SIMT below
//   xformers  SIMT-tuned tiles, tensor cores where present
//   sdp       cuBLAS QKᵀ, masked softmax, cuBLAS PV; memory grows with the square of the sequence
//   naive     one block per query row and head; the GPU reference
//   auto      flash when it is built for the head size, else sdp
#include "src/runtime/attention_backend.h"

namespace attn::cuda {

BackendChoice choose_gpu_backend(AttentionBackend requested, int sm, int head_dim);
// Whether the backend reads sequence lengths only from device memory, so a decode step can be captured
// once in a CUDA graph and replayed at every position.
bool backend_allows_graphs(AttentionBackend backend);

}  // namespace attn::cuda
