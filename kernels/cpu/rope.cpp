#include "kernels/cpu/rope.h"

#include <algorithm>
#include <cmath>

namespace attn::cpu {
namespace {

constexpr double kPi = 3.14159265358979323846;

// Llama 3.1: long wavelengths are divided by `factor`, short ones kept, the band between blended.
void scale_llama3(const RopeConfig& rope, std::vector<double>& inv_freq) {
    const double old_context = rope.original_max_position_embeddings;
    const double low_freq_wavelen = old_context / rope.low_freq_factor;
    const double high_freq_wavelen = old_context / rope.high_freq_factor;
    for (double& f : inv_freq) {
        const double wavelen = 2 * kPi / f;
        if (wavelen > low_freq_wavelen) {
            f /= rope.factor;
        } else if (wavelen >= high_freq_wavelen) {
            const double smooth =
                (old_context / wavelen - rope.low_freq_factor) / (rope.high_freq_factor - rope.low_freq_factor);
            f = (1 - smooth) * f / rope.factor + smooth * f;
        }
    }
}

// YaRN (arXiv 2309.00071): dimensions that rotate fewer than beta_slow times over the original context
// are interpolated, those above beta_fast extrapolated, a linear ramp in between.
void scale_yarn(const RopeConfig& rope, int dim, std::vector<double>& inv_freq) {
    auto correction_dim = [&](double rotations) {
        return dim * std::log(rope.original_max_position_embeddings / (rotations * 2 * kPi)) / (2 * std::log(rope.theta));
    };
    double low = correction_dim(rope.beta_fast);
    double high = correction_dim(rope.beta_slow);
    if (rope.truncate) {
        low = std::floor(low);
        high = std::ceil(high);
    }
    low = std::max(low, 0.0);
    high = std::min(high, double(dim - 1));
    if (low == high) high += 0.001;
    for (size_t i = 0; i < inv_freq.size(); ++i) {
        const double ramp = std::clamp((double(i) - low) / (high - low), 0.0, 1.0);
        const double extrapolation_weight = 1 - ramp;
        const double interpolated = inv_freq[i] / rope.factor;
        inv_freq[i] = interpolated * (1 - extrapolation_weight) + inv_freq[i] * extrapolation_weight;
    }
}

}  // namespace

RopeTable RopeTable::build(const RopeConfig& rope, int head_dim) {
    std::vector<double> inv_freq(head_dim / 2);
    for (int i = 0; i < head_dim / 2; ++i) inv_freq[i] = 1.0 / std::pow(rope.theta, double(2 * i) / head_dim);
    switch (rope.scaling) {
        case RopeScaling::None: break;
        case RopeScaling::Linear:
            for (double& f : inv_freq) f /= rope.factor;
            break;
        case RopeScaling::Llama3: scale_llama3(rope, inv_freq); break;
        case RopeScaling::Yarn: scale_yarn(rope, head_dim, inv_freq); break;
    }
    RopeTable table;
    table.inv_freq.assign(inv_freq.begin(), inv_freq.end());
    table.attention_factor = float(rope.attention_factor);
    return table;
}

void apply_rope(const RopeTable& table, float* x, int n, int n_heads, int head_dim, const int* positions) {
    const int half = head_dim / 2;
    std::vector<float> cos_v(half), sin_v(half);
    for (int t = 0; t < n; ++t) {
        for (int i = 0; i < half; ++i) {
            const float angle = float(positions[t]) * table.inv_freq[i];  // fp32 product, as transformers
            cos_v[i] = float(std::cos(double(angle))) * table.attention_factor;
            sin_v[i] = float(std::sin(double(angle))) * table.attention_factor;
        }
        for (int h = 0; h < n_heads; ++h) {
            float* v = x + (size_t(t) * n_heads + h) * head_dim;
            for (int i = 0; i < half; ++i) {
                const float a = v[i], b = v[i + half];
                v[i] = a * cos_v[i] - b * sin_v[i];
                v[i + half] = b * cos_v[i] + a * sin_v[i];
            }
        }
    }
}

}  // namespace attn::cpu
