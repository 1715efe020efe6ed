#include "tests/gpu/gpu_test_util.h"

#include "kernels/cuda/current_device.h"
#include "kernels/cuda/flash/kernel_path.h"

namespace attn::test {

bool device_runs_bf16() {
    return cuda::current_compute_capability() >= 80 && cuda::select_kernel_path() == cuda::KernelPath::TensorCoreSm80;
}

}  // namespace attn::test
