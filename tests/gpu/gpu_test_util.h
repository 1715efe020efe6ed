#pragma once
// Moving test data to and from the GPU, and the variants (tensor-core, sm_75, SIMT) a test should run.
#include <cstdint>
#include <cstdlib>
#include <string>
#include <vector>

#include <cublas_v2.h>
#include <cuda_fp16.h>

#include "src/cuda/check.h"
#include "src/cuda/device_allocator.h"

namespace attn::test {

template <typename T>
cuda::DeviceBuffer<T> to_device(const std::vector<T>& host) {
    cuda::DeviceBuffer<T> buffer(host.size(), "test data");
    CUDA_CHECK(cudaMemcpy(buffer.data(), host.data(), host.size() * sizeof(T), cudaMemcpyHostToDevice));
    return buffer;
}

template <typename T>
std::vector<T> to_host(const cuda::DeviceBuffer<T>& buffer) {
    std::vector<T> host(buffer.size());
    CUDA_CHECK(cudaMemcpy(host.data(), buffer.data(), buffer.bytes(), cudaMemcpyDeviceToHost));
    return host;
}

// fp16 copies of fp32 data and back; tests compute the CPU reference from the rounded values so that
// only the kernel's own error is measured.
std::vector<__half> to_half(const std::vector<float>& values);
std::vector<float> to_float(const std::vector<__half>& values);
std::vector<float> round_to_half(const std::vector<float>& values);

// Fills a device buffer with NaN so that elements a kernel fails to write fail the comparison.
template <typename T>
void poison(cuda::DeviceBuffer<T>& buffer) {
    CUDA_CHECK(cudaMemset(buffer.data(), 0xff, buffer.bytes()));  // all-ones: NaN in fp16 and fp32
}

// Sets ATTN_INFER_FORCE_KERNEL_PATH for one scope ("": the GPU's own path) and restores what was there
// (tools/run_gpu_tests.sh forces a path for the whole process).
class ForcedKernelPath {
public:
    explicit ForcedKernelPath(const char* path) {
        if (const char* previous = std::getenv(kVariable)) previous_ = previous;
        if (*path)
            setenv(kVariable, path, 1);
        else
            unsetenv(kVariable);
    }
    ~ForcedKernelPath() {
        if (previous_.empty())
            unsetenv(kVariable);
        else
            setenv(kVariable, previous_.c_str(), 1);
    }
    ForcedKernelPath(const ForcedKernelPath&) = delete;
    ForcedKernelPath& operator=(const ForcedKernelPath&) = delete;

private:
    static constexpr const char* kVariable = "ATTN_INFER_FORCE_KERNEL_PATH";
    std::string previous_;
};

class CublasHandle {
public:
    CublasHandle() { CUBLAS_CHECK(cublasCreate(&handle_)); }
    ~CublasHandle() { cublasDestroy(handle_); }
    CublasHandle(const CublasHandle&) = delete;
    CublasHandle& operator=(const CublasHandle&) = delete;
    operator cublasHandle_t() const { return handle_; }

private:
    cublasHandle_t handle_ = nullptr;
};

}  // namespace attn::test
