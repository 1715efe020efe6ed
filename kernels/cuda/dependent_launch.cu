#include "kernels/cuda/dependent_launch.cuh"

#include <cstdlib>
#include <cstring>
#include <mutex>
#include <unordered_map>

namespace attn::cuda {

bool dependent_launch_applies(const void* kernel) {
    static const bool enabled = [] {
        const char* setting = std::getenv("ATTN_INFER_DEPENDENT_LAUNCH");
        return !setting || std::strcmp(setting, "0") != 0;
    }();
    if (!enabled) return false;
    // The PTX version, not the device's compute capability: a PTX-only compute_75 build JIT-compiled for an
    // H100 has no griddepcontrol instructions and must not start before its predecessor ends.
    static std::mutex mutex;
    static std::unordered_map<const void*, bool> applies;  // per kernel and device: one device per process
    const std::lock_guard<std::mutex> lock(mutex);
    const auto found = applies.find(kernel);
    if (found != applies.end()) return found->second;
    cudaFuncAttributes attributes{};
    CUDA_CHECK(cudaFuncGetAttributes(&attributes, kernel));
    return applies[kernel] = attributes.ptxVersion >= 90;
}

}  // namespace attn::cuda
