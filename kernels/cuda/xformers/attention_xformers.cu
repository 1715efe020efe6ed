#include "kernels/cuda/xformers/attention_xformers.h"

#include "kernels/cuda/flash/attention_kernel_args.cuh"
#include "kernels/cuda/flash/flash_decode.h"
#include "kernels/cuda/flash/kernel_path.h"
#include "kernels/cuda/flash/validate_inputs.h"
#include "kernels/cuda/xformers/xformers_prefill.h"

namespace attn::cuda {

size_t attention_xformers_workspace_bytes(const AttentionParams& p) {
    return is_decode_batch(p) ? flash_decode_workspace_bytes(p) : 0;
}

template <typename T>
void attention_xformers(const AttentionParams& p, const T* q, const KvCacheView& kv, T* out, const Workspace& workspace,
                        cudaStream_t stream) {
    validate_tiled_attention_inputs(p, q, kv, out, "xformers");
    if (p.batch == 0 || p.total_q == 0) return;
    const AttentionKernelArgs<T> args = make_kernel_args(p, q, kv, out);
    if (is_decode_batch(p)) return flash_decode(p, args, workspace, stream);  // one query: nothing to tile
    launch_xformers_prefill(args, select_kernel_path(), stream);
}

template void attention_xformers(const AttentionParams&, const __half*, const KvCacheView&, __half*, const Workspace&,
                                 cudaStream_t);
template void attention_xformers(const AttentionParams&, const __nv_bfloat16*, const KvCacheView&, __nv_bfloat16*,
                                 const Workspace&, cudaStream_t);

}  // namespace attn::cuda
