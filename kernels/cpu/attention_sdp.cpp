#include <algorithm>
#include <cmath>
#include <limits>
#include <vector>

#include "kernels/cpu/attention.h"

namespace attn::cpu {

// One head at a time holds its whole [n_q x kv.length] score matrix, as PyTorch's math path does per head.
void attention_sdp(const AttentionShape& s, const float* q, int n_q, const KvView& kv, float* out, ThreadPool& pool) {
    const int group = s.n_heads / s.n_kv_heads;
    const int n_k = kv.length;
    const float neg_inf = -std::numeric_limits<float>::infinity();
    pool.parallel_for(s.n_heads, [&](int begin, int end) {
        std::vector<float> scores(size_t(n_q) * n_k);
        for (int h = begin; h < end; ++h) {
            const int kv_head = h / group;
            for (int i = 0; i < n_q; ++i) {  // S = Q·Kᵀ · scale, masked
                const float* qi = q + (size_t(i) * s.n_heads + h) * s.head_dim;
                float* row = scores.data() + size_t(i) * n_k;
                const int pos = n_k - n_q + i;
                for (int j = 0; j < n_k; ++j) {
                    const float* kj = kv.key(j, kv_head);
                    float dot = 0;
                    for (int d = 0; d < s.head_dim; ++d) dot += qi[d] * kj[d];
                    row[j] = s.visible(pos, j) ? dot * s.scale : neg_inf;
                }
            }
            for (int i = 0; i < n_q; ++i) {  // P = softmax(S) row by row
                float* row = scores.data() + size_t(i) * n_k;
                const float max_score = *std::max_element(row, row + n_k);
                float sum = 0;
                for (int j = 0; j < n_k; ++j) sum += row[j] = std::exp(row[j] - max_score);
                for (int j = 0; j < n_k; ++j) row[j] /= sum;
            }
            for (int i = 0; i < n_q; ++i) {  // O = P·V
                const float* row = scores.data() + size_t(i) * n_k;
                float* oi = out + (size_t(i) * s.n_heads + h) * s.head_dim;
                std::fill(oi, oi + s.head_dim, 0.0f);
                for (int j = 0; j < n_k; ++j) {
                    if (row[j] == 0.0f) continue;
                    const float* vj = kv.value(j, kv_head);
                    for (int d = 0; d < s.head_dim; ++d) oi[d] += row[j] * vj[d];
                }
            }
        }
    });
}

}  // namespace attn::cpu
