#pragma once
// The GPU KV cache of one sequence: rows of T (the model's fp16 or bf16), [layer][position][kv_head][head_dim], one allocation sized
// for the context. Rows are addressed by index (cache_rows), so the paged layout changes only the mapping.
#include <cstdint>

#include "kernels/cuda/attention.h"
#include "src/cuda/device_allocator.h"

namespace attn::cuda {

template <typename T>
class GpuKvCache {
public:
    GpuKvCache(int n_layers, int kv_dim, int capacity_tokens);

    T* k_layer(int layer) { return k_.data() + size_t(layer) * capacity_ * kv_dim_; }
    T* v_layer(int layer) { return v_.data() + size_t(layer) * capacity_ * kv_dim_; }
    KvCacheView view(int layer) const;
    int capacity_tokens() const { return capacity_; }
    int kv_dim() const { return kv_dim_; }
    size_t bytes() const { return k_.bytes() + v_.bytes(); }
    static size_t bytes_per_token(int n_layers, int kv_dim) { return size_t(2) * n_layers * kv_dim * sizeof(T); }

private:
    int n_layers_, kv_dim_, capacity_;
    DeviceBuffer<T> k_, v_;
};

}  // namespace attn::cuda
