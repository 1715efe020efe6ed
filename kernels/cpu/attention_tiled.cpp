#include <algorithm>
#include <cmath>
#include <limits>
#include <vector>

#include "kernels/cpu/attention.h"

namespace attn::cpu {
namespace {

constexpr float kLog2e = 1.4426950408889634f;

// The key range [first, last] that any query in positions [q_first, q_last] can see; tiles outside it are
// skipped without being read, which is what makes sliding-window attention O(n·window).
void visible_key_range(const AttentionShape& s, int q_first, int q_last, int n_k, int& first, int& last) {
    first = 0;
    last = n_k - 1;
    if (s.causal) last = std::min(last, q_last);
    if (s.window > 0) first = std::max(0, q_first - s.window + 1);
}

}  // namespace

void attention_tiled(const AttentionShape& s, const float* q, int n_q, const KvView& kv, float* out, ThreadPool& pool,
                     int query_tile, int key_tile) {
    const int group = s.n_heads / s.n_kv_heads;
    const int n_k = kv.length;
    const int n_query_tiles = (n_q + query_tile - 1) / query_tile;
    const float scale_log2 = s.scale * kLog2e;  // softmax in base 2: exp(x·scale) = exp2(x·scale·log2e)
    pool.parallel_for(s.n_heads * n_query_tiles, [&](int begin, int end) {
        std::vector<float> row_max(query_tile), row_sum(query_tile), acc(size_t(query_tile) * s.head_dim);
        std::vector<float> tile_scores(key_tile);
        std::vector<float> k_scratch(size_t(key_tile) * s.head_dim), v_scratch(k_scratch.size());
        std::vector<const float*> k_rows(key_tile), v_rows(key_tile);
        for (int item = begin; item < end; ++item) {
            const int h = item / n_query_tiles, kv_head = h / group;
            const int i0 = (item % n_query_tiles) * query_tile, i1 = std::min(n_q, i0 + query_tile);
            const int pos0 = n_k - n_q;
            std::fill(row_max.begin(), row_max.end(), -std::numeric_limits<float>::infinity());
            std::fill(row_sum.begin(), row_sum.end(), 0.0f);
            std::fill(acc.begin(), acc.end(), 0.0f);
            int key_first, key_last;
            visible_key_range(s, pos0 + i0, pos0 + i1 - 1, n_k, key_first, key_last);
            for (int j0 = key_first - key_first % key_tile; j0 <= key_last; j0 += key_tile) {
                const int j1 = std::min(key_last + 1, j0 + key_tile);
                for (int j = j0; j < j1; ++j) {  // the tile's rows are read (decoded) once per query tile
                    k_rows[j - j0] = kv.key(j, kv_head, k_scratch.data() + size_t(j - j0) * s.head_dim);
                    v_rows[j - j0] = kv.value(j, kv_head, v_scratch.data() + size_t(j - j0) * s.head_dim);
                }
                for (int i = i0; i < i1; ++i) {
                    const int r = i - i0, pos = pos0 + i;
                    const float* qi = q + (size_t(i) * s.n_heads + h) * s.head_dim;
                    float tile_max = -std::numeric_limits<float>::infinity();
                    for (int j = j0; j < j1; ++j) {
                        float dot = -std::numeric_limits<float>::infinity();
                        if (s.visible(pos, j)) {
                            const float* kj = k_rows[j - j0];
                            dot = 0;
                            for (int d = 0; d < s.head_dim; ++d) dot += qi[d] * kj[d];
                            dot *= scale_log2;
                        }
                        tile_scores[j - j0] = dot;
                        tile_max = std::max(tile_max, dot);
                    }
                    if (tile_max == -std::numeric_limits<float>::infinity()) continue;  // row fully masked here
                    const float new_max = std::max(row_max[r], tile_max);
                    const float correction = std::exp2(row_max[r] - new_max);
                    float* acc_row = acc.data() + size_t(r) * s.head_dim;
                    row_sum[r] *= correction;
                    for (int d = 0; d < s.head_dim; ++d) acc_row[d] *= correction;
                    for (int j = j0; j < j1; ++j) {
                        const float p = std::exp2(tile_scores[j - j0] - new_max);
                        if (p == 0.0f) continue;
                        row_sum[r] += p;
                        const float* vj = v_rows[j - j0];
                        for (int d = 0; d < s.head_dim; ++d) acc_row[d] += p * vj[d];
                    }
                    row_max[r] = new_max;
                }
            }
            for (int i = i0; i < i1; ++i) {  // one write of O per query
                const float* acc_row = acc.data() + size_t(i - i0) * s.head_dim;
                float* oi = out + (size_t(i) * s.n_heads + h) * s.head_dim;
                for (int d = 0; d < s.head_dim; ++d) oi[d] = acc_row[d] / row_sum[i - i0];
            }
        }
    });
}

}  // namespace attn::cpu
