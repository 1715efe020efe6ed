#include "tests/gpu/gpu_test_util.h"

#include "kernels/cuda/flash/kernel_path.h"

namespace attn::test {

bool device_runs_bf16() {
    int device = 0, major = 0;
    CUDA_CHECK(cudaGetDevice(&device));
    CUDA_CHECK(cudaDeviceGetAttribute(&major, cudaDevAttrComputeCapabilityMajor, device));
    return major >= 8 && cuda::select_kernel_path() == cuda::KernelPath::TensorCoreSm80;
}

}  // namespace attn::test
