#include "src/runtime/timed_runs.h"

#include <algorithm>
#include <chrono>
#include <random>

namespace attn {

double median(std::vector<double> values) {
    std::sort(values.begin(), values.end());
    const size_t mid = values.size() / 2;
    return values.size() % 2 ? values[mid] : 0.5 * (values[mid - 1] + values[mid]);
}

std::vector<int32_t> random_tokens(int count, int vocab, uint64_t seed) {
    std::mt19937_64 rng(seed);
    std::uniform_int_distribution<int32_t> pick(1, vocab - 1);
    std::vector<int32_t> tokens(count);
    for (auto& t : tokens) t = pick(rng);
    return tokens;
}

double timed_prefill(Model& model, const std::vector<int32_t>& tokens, int batch) {
    std::vector<float> logits;
    const auto start = std::chrono::steady_clock::now();
    for (size_t begin = 0; begin < tokens.size(); begin += batch) {
        const size_t end = std::min(tokens.size(), begin + size_t(batch));
        model.forward({tokens.begin() + begin, tokens.begin() + end}, false, logits);
    }
    return std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
}

}  // namespace attn
