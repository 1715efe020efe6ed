#include "kernels/cuda/bias_add.h"
#include "src/cuda/check.h"

namespace attn::cuda {
namespace {

template <typename T>
__global__ void add_bias_kernel(float* x, const T* bias, int64_t total, int dim) {
    for (int64_t i = blockIdx.x * int64_t(blockDim.x) + threadIdx.x; i < total; i += int64_t(gridDim.x) * blockDim.x)
        x[i] += to_float(bias[i % dim]);
}

}  // namespace

template <typename T>
void add_bias(float* x, const T* bias, int n, int dim, cudaStream_t stream) {
    const int64_t total = int64_t(n) * dim;
    const int threads = 256;
    const int blocks = int(std::min<int64_t>((total + threads - 1) / threads, 4096));
    add_bias_kernel<<<blocks, threads, 0, stream>>>(x, bias, total, dim);
    CUDA_CHECK_LAUNCH();
}

template void add_bias(float*, const __half*, int, int, cudaStream_t);
template void add_bias(float*, const __nv_bfloat16*, int, int, cudaStream_t);

}  // namespace attn::cuda
