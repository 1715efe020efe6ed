#pragma once
// All device memory goes through one allocator that counts bytes and can be capped (--gpu-mem-limit),
// so that a big card can emulate a small one when measuring the longest context that fits. Running out
// is an attn::Error saying how much was asked, how much is left and what to change.
#include <cstddef>
#include <string>

namespace attn::cuda {

class DeviceAllocator {
public:
    static DeviceAllocator& instance();

    void set_limit_bytes(size_t limit_bytes);  // 0: no cap beyond the card itself
    size_t limit_bytes() const { return limit_bytes_; }
    size_t used_bytes() const { return used_bytes_; }
    size_t peak_bytes() const { return peak_bytes_; }
    void reset_peak();  // the peak starts again from what is held now

    // `what` names the allocation in the out-of-memory message ("KV cache", "weights", ...).
    void* allocate(size_t bytes, const std::string& what);
    void release(void* pointer, size_t bytes);

private:
    size_t limit_bytes_ = 0;
    size_t used_bytes_ = 0;
    size_t peak_bytes_ = 0;
};

// Parses "11GiB", "512MiB", "8GB", "1073741824"; throws attn::Error on anything else.
size_t parse_memory_size(const std::string& text);

// An owning device allocation of `count` elements of T.
template <typename T>
class DeviceBuffer {
public:
    DeviceBuffer() = default;
    DeviceBuffer(size_t count, const std::string& what)
        : data_(static_cast<T*>(DeviceAllocator::instance().allocate(count * sizeof(T), what))), count_(count) {}
    ~DeviceBuffer() { reset(); }
    DeviceBuffer(DeviceBuffer&& other) noexcept : data_(other.data_), count_(other.count_) {
        other.data_ = nullptr;
        other.count_ = 0;
    }
    DeviceBuffer& operator=(DeviceBuffer&& other) noexcept {
        if (this != &other) {
            reset();
            data_ = other.data_;
            count_ = other.count_;
            other.data_ = nullptr;
            other.count_ = 0;
        }
        return *this;
    }
    DeviceBuffer(const DeviceBuffer&) = delete;
    DeviceBuffer& operator=(const DeviceBuffer&) = delete;

    T* data() const { return data_; }
    size_t size() const { return count_; }
    size_t bytes() const { return count_ * sizeof(T); }
    void reset() {
        if (data_) DeviceAllocator::instance().release(data_, count_ * sizeof(T));
        data_ = nullptr;
        count_ = 0;
    }

private:
    T* data_ = nullptr;
    size_t count_ = 0;
};

}  // namespace attn::cuda
