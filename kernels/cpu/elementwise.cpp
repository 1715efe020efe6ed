#include "kernels/cpu/elementwise.h"

#include <cmath>

namespace attn::cpu {

void rms_norm(const float* x, const float* weight, int n, int dim, float eps, float* out) {
    for (int t = 0; t < n; ++t) {
        const float* row = x + size_t(t) * dim;
        float* dst = out + size_t(t) * dim;
        double sum_sq = 0;
        for (int i = 0; i < dim; ++i) sum_sq += double(row[i]) * row[i];
        const float inv_rms = 1.0f / std::sqrt(float(sum_sq / dim) + eps);
        for (int i = 0; i < dim; ++i) dst[i] = weight[i] * (row[i] * inv_rms);
    }
}

void swiglu(const float* gate, const float* up, float* out, int count) {
    for (int i = 0; i < count; ++i) out[i] = gate[i] / (1.0f + std::exp(-gate[i])) * up[i];
}

void add_inplace(float* x, const float* y, int count) {
    for (int i = 0; i < count; ++i) x[i] += y[i];
}

}  // namespace attn::cpu
