#include "kernels/cuda/flash/attention_flash.h"

#include "kernels/cuda/flash/attention_kernel_args.cuh"
#include "kernels/cuda/flash/flash_decode.h"
#include "kernels/cuda/flash/flash_prefill.h"
#include "kernels/cuda/flash/head_dim_switch.h"
#include "kernels/cuda/flash/kernel_path.h"
#include "kernels/cuda/flash/validate_inputs.h"

namespace attn::cuda {

size_t attention_flash_workspace_bytes(const AttentionParams& p) {
    return is_decode_batch(p) ? flash_decode_workspace_bytes(p) : 0;
}

template <typename T>
void attention_flash(const AttentionParams& p, const T* q, const KvCacheView& kv, T* out, const Workspace& workspace,
                     cudaStream_t stream) {
    validate_tiled_attention_inputs(p, q, kv, out, "flash");
    if (p.batch == 0 || p.total_q == 0) return;
    const AttentionKernelArgs<T> args = make_kernel_args(p, q, kv, out);
    if (is_decode_batch(p)) return flash_decode(p, args, workspace, stream);
    const KernelPath path = select_kernel_path();
    dispatch_head_dim(p.head_dim, "flash", [&](auto head_dim) {
        launch_flash_prefill<T, decltype(head_dim)::value>(args, path, stream);
    });
}

template void attention_flash(const AttentionParams&, const __half*, const KvCacheView&, __half*, const Workspace&,
                              cudaStream_t);
template void attention_flash(const AttentionParams&, const __nv_bfloat16*, const KvCacheView&, __nv_bfloat16*,
                              const Workspace&, cudaStream_t);

}  // namespace attn::cuda
