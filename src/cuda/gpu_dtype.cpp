#include "src/cuda/gpu_dtype.h"

#include "src/common/error.h"

namespace attn::cuda {

GpuDtype parse_gpu_dtype(const std::string& name) {
    if (name == "auto" || name.empty()) return GpuDtype::Auto;
    if (name == "fp16" || name == "f16" || name == "float16") return GpuDtype::F16;
    if (name == "bf16" || name == "bfloat16") return GpuDtype::BF16;
    throw Error("unknown --dtype '" + name + "' (choose auto, fp16 or bf16)");
}

GpuDtypeChoice choose_gpu_dtype(GpuDtype requested, bool checkpoint_bf16, int sm, bool sm80_kernels) {
    const bool bf16_runs = sm >= 80 && sm80_kernels;
    switch (requested) {
        case GpuDtype::F16: return {false, "fp16 (--dtype fp16)"};
        case GpuDtype::BF16:
            if (!bf16_runs)
                throw Error("--dtype bf16 needs an sm_80 or newer GPU running the sm80 kernel path (this is sm_" +
                            std::to_string(sm) + (sm >= 80 ? " with an older kernel path forced" : "") +
                            "); use --dtype fp16");
            return {true, "bf16 (--dtype bf16)"};
        case GpuDtype::Auto: break;
    }
    if (!checkpoint_bf16) return {false, "fp16 (the checkpoint is not bf16)"};
    if (!bf16_runs) return {false, "fp16 (bf16 checkpoint converted: bf16 kernels need sm_80 and the sm80 path)"};
    return {true, "bf16 (bf16 checkpoint on sm_" + std::to_string(sm) + ")"};
}

}  // namespace attn::cuda
