#pragma once
// Which instruction set an attention kernel uses on the current GPU. Newer GPUs can be told to take an
// older path (ATTN_INFER_FORCE_KERNEL_PATH=sm75|simt) so that the code for a T4 or a P100 is exercised on
// whatever card the tests run on.
namespace attn::cuda {

enum class KernelPath {
    TensorCoreSm80,  // mma.sync m16n8k16 + ldmatrix + cp.async double buffering (sm_80 and newer)
    TensorCoreSm75,  // mma.sync m16n8k8 pairs + ldmatrix, synchronous tile loads (Turing)
    Simt,            // fp32 FMA on CUDA cores (Pascal, Volta, or forced)
};

// The best path for the current device and the code built for it (a build without code for this GPU runs
// the PTX of an older architecture), or the one ATTN_INFER_FORCE_KERNEL_PATH asks for; throws attn::Error
// when the variable names an unknown path or one the device or build cannot run.
KernelPath select_kernel_path();

const char* kernel_path_name(KernelPath path);

// bf16 tiles have no Turing mma and no SIMT build: throws attn::Error unless `path` is the sm80 one. The
// model picks bf16 only where it is, so this guards direct kernel callers.
void require_bf16_path(KernelPath path, const char* backend);

}  // namespace attn::cuda
