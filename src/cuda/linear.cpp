#include "src/cuda/linear.h"

#include "kernels/cuda/gemv.h"
#include "src/cuda/check.h"

namespace attn::cuda {

template <typename T>
void linear(cublasHandle_t handle, const T* x, int n, int in, const T* w, int out, float* y, float beta) {
    // Decode-sized batches: cuBLAS's GEMM falls well short of memory bandwidth there, the GEMV reaches it.
    // The handle's stream is the caller's, so the GEMV runs in the same order as cuBLAS would.
    if (n >= 1 && n <= kGemvMaxTokens) {
        cudaStream_t stream = nullptr;
        CUBLAS_CHECK(cublasGetStream(handle, &stream));
        gemv(x, n, in, w, out, y, beta, stream);
        return;
    }
    // Row-major W[out][in] is column-major [in][out]: op(A)=Aᵀ gives [out][in]; row-major x[n][in] is
    // column-major [in][n]; the column-major [out][n] result is row-major y[n][out].
    const float alpha = 1.0f;
    const cudaDataType_t type = ElementTraits<T>::kCublasType;
    CUBLAS_CHECK(cublasGemmEx(handle, CUBLAS_OP_T, CUBLAS_OP_N, out, n, in, &alpha, w, type, in, x, type, in,
                              &beta, y, CUDA_R_32F, out, CUBLAS_COMPUTE_32F, CUBLAS_GEMM_DEFAULT));
}

template void linear(cublasHandle_t, const __half*, int, int, const __half*, int, float*, float);
template void linear(cublasHandle_t, const __nv_bfloat16*, int, int, const __nv_bfloat16*, int, float*, float);

}  // namespace attn::cuda
