#pragma once
// Moving test data to and from the GPU, and the variants (tensor-core, sm_75, SIMT) a test should run.
#include <cstdint>
#include <cstdlib>
#include <string>
#include <vector>

#include <cublas_v2.h>

#include "kernels/cuda/element_type.cuh"
#include "src/cuda/check.h"
#include "src/cuda/device_allocator.h"

namespace attn::test {

// Copies and memsets without a stream run on the legacy default stream, which the non-blocking streams the
// tests launch on (as the runtime does) neither wait for nor make wait, and a pageable cudaMemcpy may return
// before its DMA ends: these helpers wait for the whole device on their side of the copy.
template <typename T>
cuda::DeviceBuffer<T> to_device(const std::vector<T>& host) {
    cuda::DeviceBuffer<T> buffer(host.size(), "test data");
    CUDA_CHECK(cudaMemcpy(buffer.data(), host.data(), host.size() * sizeof(T), cudaMemcpyHostToDevice));
    CUDA_CHECK(cudaDeviceSynchronize());
    return buffer;
}

template <typename T>
std::vector<T> to_host(const cuda::DeviceBuffer<T>& buffer) {
    std::vector<T> host(buffer.size());
    CUDA_CHECK(cudaDeviceSynchronize());
    CUDA_CHECK(cudaMemcpy(host.data(), buffer.data(), buffer.bytes(), cudaMemcpyDeviceToHost));
    return host;
}

// 16-bit (T = __half or __nv_bfloat16) copies of fp32 data and back; tests compute the CPU reference from
// the rounded values so that only the kernel's own error is measured.
template <typename T>
std::vector<T> to_elements(const std::vector<float>& values) {
    std::vector<T> out(values.size());
    for (size_t i = 0; i < values.size(); ++i) out[i] = cuda::from_float<T>(values[i]);
    return out;
}

template <typename T>
std::vector<float> to_floats(const std::vector<T>& values) {
    std::vector<float> out(values.size());
    for (size_t i = 0; i < values.size(); ++i) out[i] = cuda::to_float(values[i]);
    return out;
}

template <typename T>
std::vector<float> round_to(const std::vector<float>& values) {
    return to_floats(to_elements<T>(values));
}

// What a T output costs against an fp32 reference on the same rounded inputs, relative L2: fp16 rounds by
// up to 2^-11 of a value (about 3e-4 RMS), bf16 by up to 2^-8 (2.3e-3 RMS); a wrong index costs far more.
template <typename T>
constexpr double kOutputTolerance = cuda::kIsBf16<T> ? 8e-3 : 1e-3;

// Whether bf16 runs here: an sm_80+ GPU on the sm80 kernel path (not forced to an older one). bf16 tests
// skip otherwise, with a message.
bool device_runs_bf16();

// Fills a device buffer with NaN so that elements a kernel fails to write fail the comparison. Waits for the
// fill (to_device says why): a kernel on a non-blocking stream could otherwise write before it lands.
template <typename T>
void poison(cuda::DeviceBuffer<T>& buffer) {
    CUDA_CHECK(cudaMemset(buffer.data(), 0xff, buffer.bytes()));  // all-ones: NaN in fp16, bf16 and fp32
    CUDA_CHECK(cudaDeviceSynchronize());
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

class Stream {
public:
    Stream() { CUDA_CHECK(cudaStreamCreateWithFlags(&stream_, cudaStreamNonBlocking)); }
    ~Stream() { cudaStreamDestroy(stream_); }
    Stream(const Stream&) = delete;
    Stream& operator=(const Stream&) = delete;
    operator cudaStream_t() const { return stream_; }

private:
    cudaStream_t stream_ = nullptr;
};

// A workspace of `bytes`, filled with NaN so that a backend reading scratch it did not write fails.
inline cuda::DeviceBuffer<unsigned char> make_poisoned_workspace(size_t bytes) {
    cuda::DeviceBuffer<unsigned char> workspace(bytes, "attention test workspace");
    if (bytes > 0) poison(workspace);
    return workspace;
}

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
