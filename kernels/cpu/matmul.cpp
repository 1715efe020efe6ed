#include "kernels/cpu/matmul.h"

#include <algorithm>

namespace attn::cpu {
namespace {

// Eight independent partial sums let the compiler keep a vector register per lane and hide FMA latency.
// Compiled twice: AVX2+FMA where the CPU has it, baseline SSE2 elsewhere.
__attribute__((target_clones("arch=x86-64-v3", "default")))
float dot(const float* a, const float* b, int n) {
    float acc[8] = {0, 0, 0, 0, 0, 0, 0, 0};
    int i = 0;
    for (; i + 8 <= n; i += 8)
        for (int l = 0; l < 8; ++l) acc[l] += a[i + l] * b[i + l];
    float sum = ((acc[0] + acc[1]) + (acc[2] + acc[3])) + ((acc[4] + acc[5]) + (acc[6] + acc[7]));
    for (; i < n; ++i) sum += a[i] * b[i];
    return sum;
}

}  // namespace

void matmul(const float* x, int n, int in, const float* w, int out, const float* bias, float* y, ThreadPool& pool) {
    // Parallel over output features: each weight row is read once per block of tokens while the
    // block's activations stay in cache.
    constexpr int kTokenBlock = 8;
    pool.parallel_for(out, [&](int begin, int end) {
        for (int t0 = 0; t0 < n; t0 += kTokenBlock) {
            const int t1 = std::min(n, t0 + kTokenBlock);
            for (int o = begin; o < end; ++o) {
                const float* row = w + size_t(o) * in;
                const float b = bias ? bias[o] : 0.0f;
                for (int t = t0; t < t1; ++t) y[size_t(t) * out + o] = dot(x + size_t(t) * in, row, in) + b;
            }
        }
    }, 16);
}

}  // namespace attn::cpu
