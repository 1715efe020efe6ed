#pragma once
// Every CUDA runtime and cuBLAS status goes through these: a failure becomes an attn::Error that names the
// call, the file and line, and the library's own description.
#include <string>

#include <cublas_v2.h>
#include <cuda_runtime.h>

#include "src/common/error.h"

namespace attn::cuda {

// How every out-of-GPU-memory error ends, wherever memory ran out (our allocator, the CUDA runtime, cuBLAS).
constexpr const char* kOutOfMemoryAdvice = "use a shorter -c/--ctx-size or a quantized --kv-cache (q8, q4)";

[[noreturn]] void throw_cuda_error(cudaError_t status, const char* call, const char* file, int line);
[[noreturn]] void throw_cublas_error(cublasStatus_t status, const char* call, const char* file, int line);

}  // namespace attn::cuda

#define CUDA_CHECK(call)                                                                  \
    do {                                                                                  \
        const cudaError_t attn_status_ = (call);                                          \
        if (attn_status_ != cudaSuccess)                                                  \
            ::attn::cuda::throw_cuda_error(attn_status_, #call, __FILE__, __LINE__);      \
    } while (0)

#define CUBLAS_CHECK(call)                                                                \
    do {                                                                                  \
        const cublasStatus_t attn_status_ = (call);                                       \
        if (attn_status_ != CUBLAS_STATUS_SUCCESS)                                        \
            ::attn::cuda::throw_cublas_error(attn_status_, #call, __FILE__, __LINE__);    \
    } while (0)

// After a kernel launch: catches bad launch configurations at once (asynchronous faults surface at the
// next synchronising call, which is checked too).
#define CUDA_CHECK_LAUNCH() CUDA_CHECK(cudaGetLastError())
