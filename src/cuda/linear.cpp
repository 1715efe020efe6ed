#include "src/cuda/linear.h"

#include "src/cuda/check.h"

namespace attn::cuda {

void linear(cublasHandle_t handle, const __half* x, int n, int in, const __half* w, int out, float* y, float beta) {
    // Row-major W[out][in] is column-major [in][out]: op(A)=Aᵀ gives [out][in]; row-major x[n][in] is
    // column-major [in][n]; the column-major [out][n] result is row-major y[n][out].
    const float alpha = 1.0f;
    CUBLAS_CHECK(cublasGemmEx(handle, CUBLAS_OP_T, CUBLAS_OP_N, out, n, in, &alpha, w, CUDA_R_16F, in, x, CUDA_R_16F, in,
                              &beta, y, CUDA_R_32F, out, CUBLAS_COMPUTE_32F, CUBLAS_GEMM_DEFAULT));
}

}  // namespace attn::cuda
