#pragma once
// The 16-bit type a model runs in on the GPU. `auto` keeps a bf16 checkpoint in bf16 where our bf16 kernels
// run (sm_80+, on the sm80 kernel path) and converts everything else to fp16 with a range check, as the
// weights of fp16/fp32 checkpoints and of bf16 ones on older GPUs fit fp16 in practice.
#include <string>

namespace attn::cuda {

enum class GpuDtype { Auto, F16, BF16 };

// "auto", "fp16" (or "f16", "float16"), "bf16" (or "bfloat16"); throws attn::Error for anything else.
GpuDtype parse_gpu_dtype(const std::string& name);

struct GpuDtypeChoice {
    bool bf16 = false;
    std::string reason;  // for the log
};

// checkpoint_bf16: the checkpoint stores its weights as BF16. sm80_kernels: the attention kernels take the
// sm80 path here (not a pre-Ampere GPU, not forced by ATTN_INFER_FORCE_KERNEL_PATH). Asking for bf16 where
// it cannot run is an attn::Error that names fp16.
GpuDtypeChoice choose_gpu_dtype(GpuDtype requested, bool checkpoint_bf16, int sm, bool sm80_kernels);

}  // namespace attn::cuda
