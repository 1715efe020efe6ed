// See kv_key_groups.h. The per-channel encoder is cpu::encode_q4_channels in the same arithmetic: min/max over
// the group, d = fp16((max - min)/15), m = fp16(min), c = rint((x - m) · (1/d)) clamped to 0..15.
#include "kernels/cuda/kv_key_groups.h"

#include "src/cuda/check.h"

namespace attn::cuda {
namespace {

constexpr int kGroup = cpu::kQ4KeyGroup;

__device__ uint8_t encode_channel(float x, float minimum, float inv) {
    return uint8_t(fminf(fmaxf(rintf((x - minimum) * inv), 0.0f), 15.0f));
}

// Block: one kv head; thread: channels c and c + 1, whose codes share a byte.
template <typename T>
__global__ void q4_key_groups_kernel(QkvRopeParams<T> p, const float* __restrict__ qkv, KvCacheWrite cache) {
    const cpu::KvBlockLayout& layout = cache.layout;
    const int kv_head = blockIdx.x, c = 2 * threadIdx.x, head_dim = layout.head_dim;
    const int first = p.positions[0], last = first + p.n_tokens - 1;
    const int64_t qkv_row = int64_t(p.n_heads + 2 * p.n_kv_heads) * head_dim;
    const float* keys = qkv + int64_t(p.n_heads + kv_head) * head_dim;  // token 0's key of this head
    const int64_t pending_row = int64_t(layout.n_kv_heads) * head_dim;
    float* pending = cache.pending_keys + int64_t(kv_head) * head_dim;   // slot s at pending + s·pending_row
    auto key = [&](int pos, int channel) {
        return pos >= first ? keys[(pos - first) * qkv_row + channel] : pending[(pos % kGroup) * pending_row + channel];
    };

    for (int group = first / kGroup * kGroup; group <= last; group += kGroup) {
        if (group + kGroup - 1 > last) {  // unfinished: wait in the pending buffer
            for (int pos = max(group, first); pos <= last; ++pos) {
                pending[(pos % kGroup) * pending_row + c] = key(pos, c);
                pending[(pos % kGroup) * pending_row + c + 1] = key(pos, c + 1);
            }
            break;
        }
        // Rows of a group are consecutive in one block (blocks hold whole groups).
        const int known = max(group, first);
        const int64_t row0 = p.cache_rows[known - first] - (known - group);
        uint8_t* block = cache.blocks + row0 / layout.block_tokens * cache.block_stride_bytes;
        const int slot0 = int(row0 % layout.block_tokens);
        __half* params = reinterpret_cast<__half*>(block + layout.key_channel_params_offset(slot0, kv_head));
        float minimum[2], inv[2];
        for (int k = 0; k < 2; ++k) {
            float lo = key(group, c + k), hi = lo;
            for (int r = 1; r < kGroup; ++r) lo = fminf(lo, key(group + r, c + k)), hi = fmaxf(hi, key(group + r, c + k));
            const __half d = __float2half_rn((hi - lo) / 15.0f);
            const __half m = __float2half_rn(lo);
            params[c + k] = d;
            params[head_dim + c + k] = m;
            minimum[k] = __half2float(m);
            inv[k] = __half2float(d) > 0.0f ? 1.0f / __half2float(d) : 0.0f;
        }
        for (int r = 0; r < kGroup; ++r) {
            const uint8_t low = encode_channel(key(group + r, c), minimum[0], inv[0]);
            const uint8_t high = encode_channel(key(group + r, c + 1), minimum[1], inv[1]);
            block[layout.codes_offset(false, slot0 + r, kv_head) + c / 2] = uint8_t(low | high << 4);
        }
    }
}

}  // namespace

template <typename T>
void store_q4_key_groups(const QkvRopeParams<T>& params, const float* qkv, const KvCacheWrite& cache,
                         cudaStream_t stream) {
    ATTN_ASSERT(cache.layout.keys_by_channel() && cache.pending_keys && cache.layout.block_tokens % kGroup == 0);
    if (params.n_tokens == 0) return;
    q4_key_groups_kernel<<<params.n_kv_heads, cache.layout.head_dim / 2, 0, stream>>>(params, qkv, cache);
    CUDA_CHECK_LAUNCH();
}

template void store_q4_key_groups(const QkvRopeParams<__half>&, const float*, const KvCacheWrite&, cudaStream_t);
template void store_q4_key_groups(const QkvRopeParams<__nv_bfloat16>&, const float*, const KvCacheWrite&,
                                  cudaStream_t);

}  // namespace attn::cuda
