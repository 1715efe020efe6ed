#pragma once
// Moving test data to and from the GPU, and the variants (tensor-core, sm_75, SIMT) a test should run.
#include <cstdint>
#include <vector>

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

}  // namespace attn::test
