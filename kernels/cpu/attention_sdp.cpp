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
        std::vector<float> scores(size_t(n_q) * n_k), row_scratch(s.head_dim);
        for (int h = begin; h < end; ++h) {
            const int kv_head = h / group;
            for (int j = 0; j < n_k; ++j) {  // S = Q·Kᵀ · scale, masked; key-major so each row is decoded once
                const float* kj = kv.key(j, kv_head, row_scratch.data());
                for (int i = 0; i < n_q; ++i) {
                    const float* qi = q + (size_t(i) * s.n_heads + h) * s.head_dim;
                    float dot = 0;
                    for (int d = 0; d < s.head_dim; ++d) dot += qi[d] * kj[d];
                    scores[size_t(i) * n_k + j] = s.visible(n_k - n_q + i, j) ? dot * s.scale : neg_inf;
                }
            }
            for (int i = 0; i < n_q; ++i) {  // P = softmax(S) row by row
                float* row = scores.data() + size_t(i) * n_k;
                const float max_score = *std::max_element(row, row + n_k);
                float sum = 0;
                for (int j = 0; j < n_k; ++j) sum += row[j] = std::exp(row[j] - max_score);
                for (int j = 0; j < n_k; ++j) row[j] /= sum;
            }
            for (int i = 0; i < n_q; ++i) std::fill_n(out + (size_t(i) * s.n_heads + h) * s.head_dim, s.head_dim, 0.0f);
            for (int j = 0; j < n_k; ++j) {  // O = P·V, value-major like S
                const float* vj = kv.value(j, kv_head, row_scratch.data());
                for (int i = 0; i < n_q; ++i) {
                    const float p = scores[size_t(i) * n_k + j];
                    if (p == 0.0f) continue;
                    float* oi = out + (size_t(i) * s.n_heads + h) * s.head_dim;
                    for (int d = 0; d < s.head_dim; ++d) oi[d] += p * vj[d];
                }
            }
        }
    });
}

}  // namespace attn::cpu
