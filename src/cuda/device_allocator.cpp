#include "src/cuda/device_allocator.h"

#include <cctype>

#include "src/common/format_bytes.h"
#include "src/cuda/check.h"

namespace attn::cuda {

DeviceAllocator& DeviceAllocator::instance() {
    static DeviceAllocator allocator;
    return allocator;
}

void DeviceAllocator::set_limit_bytes(size_t limit_bytes) {
    limit_bytes_ = limit_bytes;
}

void* DeviceAllocator::allocate(size_t bytes, const std::string& what) {
    if (bytes == 0) return nullptr;
    size_t free_bytes = 0, total_bytes = 0;
    CUDA_CHECK(cudaMemGetInfo(&free_bytes, &total_bytes));
    const size_t left = limit_bytes_ ? (limit_bytes_ > used_bytes_ ? limit_bytes_ - used_bytes_ : 0) : free_bytes;
    auto out_of_memory = [&](size_t available) {
        return OutOfMemoryError(what, "out of GPU memory: " + what + " needs " + format_bytes(bytes) + " but " +
                     format_bytes(available) + " is left" +
                     (limit_bytes_ ? " under --gpu-mem-limit " + format_bytes(limit_bytes_) : "") +
                     " (" + format_bytes(used_bytes_) + " in use); " + kOutOfMemoryAdvice);
    };
    if (bytes > left) throw out_of_memory(left);
    void* pointer = nullptr;
    const cudaError_t status = cudaMalloc(&pointer, bytes);
    if (status == cudaErrorMemoryAllocation) {
        (void)cudaGetLastError();  // clear the sticky-free error state before reporting
        throw out_of_memory(free_bytes);
    }
    CUDA_CHECK(status);
    used_bytes_ += bytes;
    peak_bytes_ = std::max(peak_bytes_, used_bytes_);
    return pointer;
}

void DeviceAllocator::reset_peak() {
    peak_bytes_ = used_bytes_;
}

void DeviceAllocator::release(void* pointer, size_t bytes) {
    if (!pointer) return;
    cudaFree(pointer);  // not checked: runs in destructors, where throwing would terminate
    used_bytes_ -= bytes;
}

size_t parse_memory_size(const std::string& text) {
    size_t i = 0;
    while (i < text.size() && (std::isdigit(static_cast<unsigned char>(text[i])) || text[i] == '.')) ++i;
    const std::string number = text.substr(0, i), unit = text.substr(i);
    double value = 0;
    try {
        value = std::stod(number);
    } catch (const std::exception&) {
        throw Error("cannot read memory size '" + text + "' (examples: 11GiB, 512MiB, 8GB)");
    }
    double scale = 0;
    if (unit.empty() || unit == "B") scale = 1;
    else if (unit == "KiB" || unit == "K") scale = 1024.0;
    else if (unit == "MiB" || unit == "M") scale = 1024.0 * 1024;
    else if (unit == "GiB" || unit == "G") scale = 1024.0 * 1024 * 1024;
    else if (unit == "KB") scale = 1e3;
    else if (unit == "MB") scale = 1e6;
    else if (unit == "GB") scale = 1e9;
    else throw Error("unknown memory unit in '" + text + "' (use B, KiB, MiB, GiB, KB, MB or GB)");
    return size_t(value * scale);
}

}  // namespace attn::cuda
