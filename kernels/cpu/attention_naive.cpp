#include <cmath>
#include <limits>
#include <vector>

#include "kernels/cpu/attention.h"

namespace attn::cpu {

void attention_naive(const AttentionShape& s, const float* q, int n_q, const KvView& kv, float* out, ThreadPool& pool) {
    const int group = s.n_heads / s.n_kv_heads;
    pool.parallel_for(n_q * s.n_heads, [&](int begin, int end) {
        std::vector<double> scores(kv.length);
        std::vector<double> acc(s.head_dim);
        std::vector<float> row_scratch(s.head_dim);
        for (int item = begin; item < end; ++item) {
            const int i = item / s.n_heads, h = item % s.n_heads;
            const int pos = kv.length - n_q + i;
            const float* qi = q + (size_t(i) * s.n_heads + h) * s.head_dim;
            double max_score = -std::numeric_limits<double>::infinity();
            for (int j = 0; j < kv.length; ++j) {
                if (!s.visible(pos, j)) continue;
                const float* kj = kv.key(j, h / group, row_scratch.data());
                double dot = 0;
                for (int d = 0; d < s.head_dim; ++d) dot += double(qi[d]) * kj[d];
                scores[j] = dot * s.scale;
                max_score = std::max(max_score, scores[j]);
            }
            double denom = 0;
            std::fill(acc.begin(), acc.end(), 0.0);
            for (int j = 0; j < kv.length; ++j) {
                if (!s.visible(pos, j)) continue;
                const double p = std::exp(scores[j] - max_score);
                denom += p;
                const float* vj = kv.value(j, h / group, row_scratch.data());
                for (int d = 0; d < s.head_dim; ++d) acc[d] += p * vj[d];
            }
            float* oi = out + (size_t(i) * s.n_heads + h) * s.head_dim;
            for (int d = 0; d < s.head_dim; ++d) oi[d] = float(acc[d] / denom);
        }
    });
}

}  // namespace attn::cpu
