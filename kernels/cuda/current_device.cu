#include "kernels/cuda/current_device.h"

#include <cuda_runtime.h>

#include "src/cuda/check.h"

namespace attn::cuda {
namespace {

int current_attribute(cudaDeviceAttr attribute) {
    int device = 0, value = 0;
    CUDA_CHECK(cudaGetDevice(&device));
    CUDA_CHECK(cudaDeviceGetAttribute(&value, attribute, device));
    return value;
}

}  // namespace

int current_multiprocessor_count() { return current_attribute(cudaDevAttrMultiProcessorCount); }

int resident_blocks_per_sm(const void* kernel, int threads, size_t shared_bytes) {
    int blocks = 0;
    CUDA_CHECK(cudaOccupancyMaxActiveBlocksPerMultiprocessor(&blocks, kernel, threads, shared_bytes));
    return blocks > 0 ? blocks : 1;
}

int current_compute_capability() {
    return current_attribute(cudaDevAttrComputeCapabilityMajor) * 10 +
           current_attribute(cudaDevAttrComputeCapabilityMinor);
}

}  // namespace attn::cuda
