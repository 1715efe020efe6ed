#include "tests/gpu/gpu_test_util.h"

namespace attn::test {

std::vector<__half> to_half(const std::vector<float>& values) {
    std::vector<__half> out(values.size());
    for (size_t i = 0; i < values.size(); ++i) out[i] = __float2half_rn(values[i]);
    return out;
}

std::vector<float> to_float(const std::vector<__half>& values) {
    std::vector<float> out(values.size());
    for (size_t i = 0; i < values.size(); ++i) out[i] = __half2float(values[i]);
    return out;
}

std::vector<float> round_to_half(const std::vector<float>& values) {
    return to_float(to_half(values));
}

}  // namespace attn::test
