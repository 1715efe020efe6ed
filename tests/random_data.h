#pragma once
// Fresh random inputs for kernel tests (never zeros), poisoning of outputs so unwritten elements fail,
// and the relative error ||out - ref|| / ||ref|| that every comparison uses.
#include <cmath>
#include <cstdint>
#include <limits>
#include <random>
#include <vector>

namespace attn::test {

inline std::vector<float> random_floats(size_t count, uint64_t seed, float scale = 1.0f) {
    std::mt19937_64 rng(seed);
    std::normal_distribution<float> normal(0.0f, scale);
    std::vector<float> values(count);
    for (float& v : values) v = normal(rng);
    return values;
}

inline std::vector<float> poisoned(size_t count) {
    return std::vector<float>(count, std::numeric_limits<float>::quiet_NaN());
}

// Returns +inf when either side holds a NaN, so a poisoned (unwritten) element always fails.
inline double relative_error(const std::vector<float>& out, const std::vector<float>& ref) {
    if (out.size() != ref.size()) return std::numeric_limits<double>::infinity();
    double diff = 0, norm = 0;
    for (size_t i = 0; i < out.size(); ++i) {
        if (std::isnan(out[i]) || std::isnan(ref[i])) return std::numeric_limits<double>::infinity();
        diff += double(out[i] - ref[i]) * (out[i] - ref[i]);
        norm += double(ref[i]) * ref[i];
    }
    return std::sqrt(diff / norm);
}

}  // namespace attn::test
