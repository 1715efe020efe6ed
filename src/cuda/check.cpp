#include "src/cuda/check.h"

namespace attn::cuda {

void throw_cuda_error(cudaError_t status, const char* call, const char* file, int line) {
    const std::string where = std::string(" in ") + call + " at " + file + ":" + std::to_string(line);
    // Memory can run out outside our allocator too (cuBLAS's workspace, a graph): still OutOfMemoryError.
    if (status == cudaErrorMemoryAllocation) {
        (void)cudaGetLastError();
        throw OutOfMemoryError("CUDA runtime", "out of GPU memory" + where + "; " + kOutOfMemoryAdvice);
    }
    throw Error(std::string("CUDA error ") + cudaGetErrorName(status) + " (" + cudaGetErrorString(status) + ")" + where);
}

void throw_cublas_error(cublasStatus_t status, const char* call, const char* file, int line) {
    const std::string where = std::string(" in ") + call + " at " + file + ":" + std::to_string(line);
    if (status == CUBLAS_STATUS_ALLOC_FAILED)
        throw OutOfMemoryError("cuBLAS", "out of GPU memory" + where + "; " + kOutOfMemoryAdvice);
    throw Error(std::string("cuBLAS error ") + cublasGetStatusName(status) + " (" + cublasGetStatusString(status) +
                ")" + where);
}

}  // namespace attn::cuda
