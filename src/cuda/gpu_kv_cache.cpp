#include "src/cuda/gpu_kv_cache.h"

namespace attn::cuda {

template <typename T>
GpuKvCache<T>::GpuKvCache(int n_layers, int kv_dim, int capacity_tokens)
    : n_layers_(n_layers), kv_dim_(kv_dim), capacity_(capacity_tokens),
      k_(size_t(n_layers) * capacity_tokens * kv_dim, "KV cache (keys)"),
      v_(size_t(n_layers) * capacity_tokens * kv_dim, "KV cache (values)") {}

template <typename T>
KvCacheView GpuKvCache<T>::view(int layer) const {
    KvCacheView view;
    view.k = k_.data() + size_t(layer) * capacity_ * kv_dim_;
    view.v = v_.data() + size_t(layer) * capacity_ * kv_dim_;
    view.seq_stride = int64_t(capacity_) * kv_dim_;
    view.token_stride = kv_dim_;
    return view;
}

template class GpuKvCache<__half>;
template class GpuKvCache<__nv_bfloat16>;

}  // namespace attn::cuda
