#include "src/cuda/check.h"

namespace attn::cuda {
namespace {

// Memory can run out outside our allocator too (the CUDA context, cuBLAS's workspace, a graph): still the
// out-of-memory error, with the same advice.
constexpr const char* kMemoryAdvice = "; use a shorter -c/--ctx-size or a quantized --kv-cache (q8, q4)";

}  // namespace

void throw_cuda_error(cudaError_t status, const char* call, const char* file, int line) {
    const std::string where = std::string(" in ") + call + " at " + file + ":" + std::to_string(line);
    if (status == cudaErrorMemoryAllocation) {
        (void)cudaGetLastError();
        throw OutOfMemoryError("CUDA runtime", "out of GPU memory" + where + kMemoryAdvice);
    }
    throw Error(std::string("CUDA error ") + cudaGetErrorName(status) + " (" + cudaGetErrorString(status) + ")" + where);
}

void throw_cublas_error(cublasStatus_t status, const char* call, const char* file, int line) {
    const std::string where = std::string(" in ") + call + " at " + file + ":" + std::to_string(line);
    if (status == CUBLAS_STATUS_ALLOC_FAILED)
        throw OutOfMemoryError("cuBLAS", "out of GPU memory" + where + kMemoryAdvice);
    throw Error(std::string("cuBLAS error ") + cublasGetStatusName(status) + " (" + cublasGetStatusString(status) +
                ")" + where);
}

}  // namespace attn::cuda
