// gemv (the decode projections) against cpu::matmul on fresh random inputs, in fp16 and bf16: every token
// count it takes; `in` on the 16-byte path (multiples of 8: one chunk per lane, several, and 2056, which
// leaves lanes a single chunk after their unrolled steps) and off it (100, or a misaligned x); `out` from
// one row (a single, partly spare row group) to several blocks' worth; beta 0 (y poisoned: it must not be
// read) and 1 (y random: the product adds to it).
#include <catch2/catch.hpp>

#include <vector>

#include "kernels/cpu/matmul.h"
#include "kernels/cuda/gemv.h"
#include "src/runtime/thread_pool.h"
#include "tests/gpu/gpu_test_util.h"
#include "tests/random_data.h"

using namespace attn;
using namespace attn::test;

namespace {

// The products are exact in fp32 (16-bit significands multiply into at most 22 bits), so gemv and the
// reference differ only in the order of their fp32 additions. Each addition rounds by up to 2^-24 of its
// partial sum; with random signs the errors add as a random walk, about 2^-24 sqrt(in / 2) relative to
// the dot product for sequential sums (4e-6 at in = 8192; both sides sum in blocks, which is less). 1e-4
// leaves a margin of 25, while a single element of W dropped from one row of 5000 costs about 1.5e-4.
constexpr double kMaxRelativeError = 1e-4;

}  // namespace

TEMPLATE_TEST_CASE("gemv matches cpu::matmul for 1 to 4 tokens", "[gpu]", __half, __nv_bfloat16) {
    ThreadPool pool(default_thread_count());
    uint64_t seed = 500;
    for (const int in : {64, 2048, 2056, 8192, 100}) {
        for (const int out : {1, 7, 2048, 5000}) {
            const std::vector<float> w = round_to<TestType>(random_floats(size_t(out) * in, ++seed));
            const auto w_d = to_device(to_elements<TestType>(w));
            for (int n = 1; n <= cuda::kGemvMaxTokens; ++n) {
                for (const float beta : {0.0f, 1.0f}) {
                    for (const size_t x_offset : {size_t(0), size_t(1)}) {  // 1: misaligned x, the scalar path
                        INFO("in " << in << ", out " << out << ", n " << n << ", beta " << beta << ", x offset "
                                   << x_offset);
                        const std::vector<float> x = round_to<TestType>(random_floats(size_t(n) * in, ++seed));
                        std::vector<float> x_shifted(x_offset);
                        x_shifted.insert(x_shifted.end(), x.begin(), x.end());
                        const auto x_d = to_device(to_elements<TestType>(x_shifted));

                        const std::vector<float> y_before = random_floats(size_t(n) * out, ++seed);
                        auto y_d = to_device(y_before);
                        if (beta == 0.0f) poison(y_d);

                        cuda::gemv(x_d.data() + x_offset, n, in, w_d.data(), out, y_d.data(), beta, nullptr);
                        CUDA_CHECK(cudaDeviceSynchronize());
                        const std::vector<float> y = to_host(y_d);

                        std::vector<float> expected(size_t(n) * out);
                        cpu::matmul(x.data(), n, in, w.data(), out, nullptr, expected.data(), pool);
                        if (beta != 0.0f)
                            for (size_t i = 0; i < expected.size(); ++i) expected[i] += beta * y_before[i];
                        CHECK(relative_error(y, expected) < kMaxRelativeError);
                    }
                }
            }
        }
    }
}
