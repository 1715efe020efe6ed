#include "src/cuda/linear.h"

#include "kernels/cuda/gemv.h"
#include "kernels/cuda/rms_norm.h"
#include "kernels/cuda/swiglu.h"
#include "src/cuda/check.h"

namespace attn::cuda {
namespace {

cudaStream_t stream_of(cublasHandle_t handle) {
    cudaStream_t stream = nullptr;
    CUBLAS_CHECK(cublasGetStream(handle, &stream));
    return stream;
}

// Decode-sized batches: cuBLAS's GEMM falls well short of memory bandwidth there, the GEMV reaches it.
bool takes_gemv(int n) { return n >= 1 && n <= kGemvMaxTokens; }

template <typename T>
GemvInput<T> fused_norm(const NormedInput<T>& input) {
    GemvInput<T> gemv_input;
    gemv_input.residual = input.residual;
    gemv_input.norm_weight = input.weight;
    gemv_input.eps = input.eps;
    return gemv_input;
}

template <typename T>
void norm_kernel(cublasHandle_t handle, const NormedInput<T>& input, int n, int in) {
    rms_norm(input.residual, input.weight, n, in, input.eps, input.normed, stream_of(handle));
}

}  // namespace

template <typename T>
void linear(cublasHandle_t handle, const T* x, int n, int in, const T* w, int out, float* y, float beta) {
    if (takes_gemv(n)) {
        GemvInput<T> input;
        input.x = x;
        GemvOutput<T> output;
        output.y = y;
        output.beta = beta;
        gemv(input, n, in, w, out, output, stream_of(handle));
        return;
    }
    // Row-major W[out][in] is column-major [in][out]: op(A)=Aᵀ gives [out][in]; row-major x[n][in] is
    // column-major [in][n]; the column-major [out][n] result is row-major y[n][out].
    const float alpha = 1.0f;
    const cudaDataType_t type = ElementTraits<T>::kCublasType;
    CUBLAS_CHECK(cublasGemmEx(handle, CUBLAS_OP_T, CUBLAS_OP_N, out, n, in, &alpha, w, type, in, x, type, in,
                              &beta, y, CUDA_R_32F, out, CUBLAS_COMPUTE_32F, CUBLAS_GEMM_DEFAULT));
}

template <typename T>
void normed_linear(cublasHandle_t handle, const NormedInput<T>& input, int n, int in, const T* w, int out, float* y) {
    if (takes_gemv(n)) {
        GemvOutput<T> output;
        output.y = y;
        gemv(fused_norm(input), n, in, w, out, output, stream_of(handle));
        return;
    }
    norm_kernel(handle, input, n, in);
    linear(handle, input.normed, n, in, w, out, y);
}

template <typename T>
void normed_swiglu_linear(cublasHandle_t handle, const NormedInput<T>& input, int n, int in, const T* w_gate_up,
                          int ffn, T* out, float* gate_up) {
    if (takes_gemv(n)) {
        GemvOutput<T> output;
        output.swiglu = out;
        gemv(fused_norm(input), n, in, w_gate_up, 2 * ffn, output, stream_of(handle));
        return;
    }
    norm_kernel(handle, input, n, in);
    linear(handle, input.normed, n, in, w_gate_up, 2 * ffn, gate_up);
    swiglu(gate_up, n, ffn, out, stream_of(handle));
}

#define ATTN_INSTANTIATE_LINEAR(T)                                                                             \
    template void linear(cublasHandle_t, const T*, int, int, const T*, int, float*, float);                   \
    template void normed_linear(cublasHandle_t, const NormedInput<T>&, int, int, const T*, int, float*);      \
    template void normed_swiglu_linear(cublasHandle_t, const NormedInput<T>&, int, int, const T*, int, T*, float*);
ATTN_INSTANTIATE_LINEAR(__half)
ATTN_INSTANTIATE_LINEAR(__nv_bfloat16)
#undef ATTN_INSTANTIATE_LINEAR

}  // namespace attn::cuda
