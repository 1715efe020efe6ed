#include "kernels/cuda/flash/kernel_path.h"

#include <algorithm>
#include <cstdlib>
#include <string>

#include <cuda_runtime.h>

#include "kernels/cuda/current_device.h"
#include "src/common/error.h"
#include "src/cuda/check.h"

namespace attn::cuda {
namespace {

__global__ void code_architecture_probe() {}

// The architecture the kernels run as here: the device's, or lower where the build has no code for it and
// the driver JIT-compiles the PTX of an older one (a "75" or "75;90" build on an A100, a compute_75 build on
// an H100), whose kernels carry no sm_80 instructions. Every kernel is built for the same architectures.
int code_architecture() {
    static const int ptx = [] {
        cudaFuncAttributes attributes{};
        CUDA_CHECK(cudaFuncGetAttributes(&attributes, code_architecture_probe));
        return attributes.ptxVersion;
    }();
    return std::min(current_compute_capability(), ptx);
}

}  // namespace

KernelPath select_kernel_path() {
    const int cc = code_architecture();
    const KernelPath native = cc >= 80 ? KernelPath::TensorCoreSm80 : cc >= 75 ? KernelPath::TensorCoreSm75 : KernelPath::Simt;
    const char* forced = std::getenv("ATTN_INFER_FORCE_KERNEL_PATH");
    if (!forced || !*forced) return native;
    const std::string name = forced;
    if (name == "simt") return KernelPath::Simt;
    if (name == "sm75") {
        if (cc < 75)
            throw Error("ATTN_INFER_FORCE_KERNEL_PATH=sm75 needs a GPU of compute capability 7.5 or newer and a build "
                        "for it, this one runs " + std::to_string(cc / 10) + "." + std::to_string(cc % 10) +
                        " code; use simt");
        return KernelPath::TensorCoreSm75;
    }
    if (name == "sm80") {
        if (cc < 80)
            throw Error("ATTN_INFER_FORCE_KERNEL_PATH=sm80 needs a GPU of compute capability 8.0 or newer and a build "
                        "for it (CUDA_ARCHS with 80 or 90); use sm75 or simt");
        return KernelPath::TensorCoreSm80;
    }
    throw Error("ATTN_INFER_FORCE_KERNEL_PATH=" + name + " is not a kernel path; use sm80, sm75 or simt");
}

const char* kernel_path_name(KernelPath path) {
    switch (path) {
        case KernelPath::TensorCoreSm80: return "sm80";
        case KernelPath::TensorCoreSm75: return "sm75";
        case KernelPath::Simt: return "simt";
    }
    return "?";
}

void require_bf16_path(KernelPath path, const char* backend) {
    if (path != KernelPath::TensorCoreSm80)
        throw Error(std::string("bf16 ") + backend + " attention runs on the sm80 kernel path only, not " +
                    kernel_path_name(path) + "; use fp16 (converted weights) on this GPU or path");
}

}  // namespace attn::cuda
