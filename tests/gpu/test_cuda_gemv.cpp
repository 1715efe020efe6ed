// gemv (the decode projections) against cpu::matmul on fresh random inputs, in fp16 and bf16: every token
// count it takes; `in` on the 16-byte path (multiples of 8: one chunk per lane, several, and 2056, which
// leaves lanes a single chunk after their unrolled steps) and off it (100, or a misaligned x); `out` from
// one row (a single, partly spare row group) to several blocks' worth; beta 0 (y poisoned: it must not be
// read) and 1 (y random: the product adds to it). Then linear() on both sides of its handover from gemv
// to cuBLAS. Then the fused forms: RMSNorm of an fp32 residual as the input, SwiGLU of the gate and up rows
// as the output, each and both, against cpu::rms_norm / cpu::swiglu around cpu::matmul, through gemv and
// through normed_linear / normed_swiglu_linear on both sides of the handover.
#include <catch2/catch.hpp>

#include <memory>
#include <vector>

#include "kernels/cpu/elementwise.h"
#include "kernels/cpu/matmul.h"
#include "kernels/cuda/gemv.h"
#include "src/cuda/linear.h"
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

// cuBLAS's tensor cores are not specified to round their fp32 sums as FMAs do; 1e-3 still fails a wrong
// row, token or beta.
constexpr double kMaxCublasRelativeError = 1e-3;

// SwiGLU outputs are rounded to T on both sides: where the fp32 values straddle a rounding boundary the two
// differ by an ulp (2^-8 relative in bf16); that happens for a few elements in ten thousand, far below 1e-3,
// while a wrong gate/up pairing is off by order 1.
constexpr double kMaxRoundedRelativeError = 1e-3;

// y = x · wᵀ + beta·y_before in fp32 from the same rounded inputs the GPU gets.
std::vector<float> reference(const std::vector<float>& x, int n, int in, const std::vector<float>& w, int out,
                             float beta, const std::vector<float>& y_before, ThreadPool& pool) {
    std::vector<float> y(size_t(n) * out);
    cpu::matmul(x.data(), n, in, w.data(), out, nullptr, y.data(), pool);
    if (beta != 0.0f)
        for (size_t i = 0; i < y.size(); ++i) y[i] += beta * y_before[i];
    return y;
}

// The output buffer as the GPU gets it: y_before to add to, or NaN where beta = 0 says it must not be read.
cuda::DeviceBuffer<float> output_buffer(const std::vector<float>& y_before, float beta) {
    auto y = to_device(y_before);
    if (beta == 0.0f) poison(y);
    return y;
}

// The fused forms' reference: rms_norm (fp32, not rounded: the fused GEMV never rounds the normalised row),
// then the product, then SwiGLU over its two halves, rounded to T as the GPU stores it.
struct FusedCase {
    int n, in, out;
    std::vector<float> residual, norm_weight, w;
};

std::vector<float> fused_reference(const FusedCase& c, float eps, bool normed_input, bool swiglu_output,
                                   const std::vector<float>& x, ThreadPool& pool) {
    std::vector<float> input = x;
    if (normed_input) {
        input.resize(c.residual.size());
        cpu::rms_norm(c.residual.data(), c.norm_weight.data(), c.n, c.in, eps, input.data());
    }
    std::vector<float> product(size_t(c.n) * c.out);
    cpu::matmul(input.data(), c.n, c.in, c.w.data(), c.out, nullptr, product.data(), pool);
    if (!swiglu_output) return product;
    const int ffn = c.out / 2;
    std::vector<float> out(size_t(c.n) * ffn);
    for (int t = 0; t < c.n; ++t)
        cpu::swiglu(&product[size_t(t) * c.out], &product[size_t(t) * c.out + ffn], &out[size_t(t) * ffn], ffn);
    return out;
}

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
                        auto y_d = output_buffer(y_before, beta);

                        cuda::GemvInput<TestType> input;
                        input.x = x_d.data() + x_offset;
                        cuda::GemvOutput<TestType> output;
                        output.y = y_d.data();
                        output.beta = beta;
                        cuda::gemv(input, n, in, w_d.data(), out, output, nullptr);
                        CUDA_CHECK(cudaDeviceSynchronize());
                        const std::vector<float> y = to_host(y_d);

                        const std::vector<float> expected = reference(x, n, in, w, out, beta, y_before, pool);
                        CHECK(relative_error(y, expected) < kMaxRelativeError);
                    }
                }
            }
        }
    }
}

TEMPLATE_TEST_CASE("linear matches cpu::matmul on both sides of its handover from gemv to cuBLAS", "[gpu]", __half,
                   __nv_bfloat16) {
    if (cuda::kIsBf16<TestType> && !device_runs_bf16()) {
        WARN("skipped: bf16 cuBLAS needs an sm_80+ GPU");
        return;
    }
    cudaStream_t stream_handle = nullptr;
    CUDA_CHECK(cudaStreamCreateWithFlags(&stream_handle, cudaStreamNonBlocking));
    const std::unique_ptr<CUstream_st, decltype(&cudaStreamDestroy)> stream(stream_handle, cudaStreamDestroy);
    cublasHandle_t cublas_handle = nullptr;
    CUBLAS_CHECK(cublasCreate(&cublas_handle));
    const std::unique_ptr<cublasContext, decltype(&cublasDestroy)> cublas(cublas_handle, cublasDestroy);
    CUBLAS_CHECK(cublasSetStream(cublas.get(), stream.get()));  // linear() hands gemv the handle's stream

    ThreadPool pool(default_thread_count());
    const int in = 2048, out = 1000;
    uint64_t seed = 600;
    const std::vector<float> w = round_to<TestType>(random_floats(size_t(out) * in, ++seed));
    const auto w_d = to_device(to_elements<TestType>(w));
    for (const int n : {1, cuda::kGemvMaxTokens, cuda::kGemvMaxTokens + 1, 16}) {
        for (const float beta : {0.0f, 1.0f}) {
            INFO("n " << n << ", beta " << beta);
            const std::vector<float> x = round_to<TestType>(random_floats(size_t(n) * in, ++seed));
            const auto x_d = to_device(to_elements<TestType>(x));
            const std::vector<float> y_before = random_floats(size_t(n) * out, ++seed);
            auto y_d = output_buffer(y_before, beta);

            cuda::linear(cublas.get(), x_d.data(), n, in, w_d.data(), out, y_d.data(), beta);
            CUDA_CHECK(cudaStreamSynchronize(stream.get()));
            const std::vector<float> y = to_host(y_d);

            const double bound = n <= cuda::kGemvMaxTokens ? kMaxRelativeError : kMaxCublasRelativeError;
            CHECK(relative_error(y, reference(x, n, in, w, out, beta, y_before, pool)) < bound);
        }
    }
}

TEMPLATE_TEST_CASE("gemv fuses the RMSNorm before and the SwiGLU after the product", "[gpu]", __half, __nv_bfloat16) {
    ThreadPool pool(default_thread_count());
    const float eps = 1e-5f;
    uint64_t seed = 700;
    for (const int in : {64, 2048, 2056, 100}) {  // 100: the scalar path
        for (const int out : {2, 14, 5000}) {
            // W scaled so that silu(gate)·up stays well inside fp16's range at in = 2056.
            FusedCase c{1, in, out, {}, round_to<TestType>(random_floats(size_t(in), ++seed, 2.0f)),
                        round_to<TestType>(random_floats(size_t(out) * in, ++seed, 0.25f))};
            const auto w_d = to_device(to_elements<TestType>(c.w));
            const auto norm_weight_d = to_device(to_elements<TestType>(c.norm_weight));
            for (c.n = 1; c.n <= cuda::kGemvMaxTokens; ++c.n) {
                for (const bool normed_input : {false, true}) {
                    for (const bool swiglu_output : {false, true}) {
                        INFO("in " << in << ", out " << out << ", n " << c.n << ", normed input " << normed_input
                                   << ", swiglu output " << swiglu_output);
                        c.residual = random_floats(size_t(c.n) * in, ++seed, 4.0f);  // fp32: not rounded
                        const std::vector<float> x = round_to<TestType>(random_floats(size_t(c.n) * in, ++seed));
                        const auto residual_d = to_device(c.residual);
                        const auto x_d = to_device(to_elements<TestType>(x));
                        cuda::DeviceBuffer<float> y_d(size_t(c.n) * out, "test output");
                        cuda::DeviceBuffer<TestType> swiglu_d(size_t(c.n) * out / 2, "test output");
                        poison(y_d);
                        poison(swiglu_d);

                        cuda::GemvInput<TestType> input;
                        if (normed_input) {
                            input.residual = residual_d.data();
                            input.norm_weight = norm_weight_d.data();
                            input.eps = eps;
                        } else {
                            input.x = x_d.data();
                        }
                        cuda::GemvOutput<TestType> output;
                        if (swiglu_output)
                            output.swiglu = swiglu_d.data();
                        else
                            output.y = y_d.data();
                        cuda::gemv(input, c.n, in, w_d.data(), out, output, nullptr);
                        CUDA_CHECK(cudaDeviceSynchronize());

                        const std::vector<float> expected =
                            fused_reference(c, eps, normed_input, swiglu_output, x, pool);
                        if (swiglu_output)  // rounded once to T, as the GPU stores it
                            CHECK(relative_error(to_floats(to_host(swiglu_d)), round_to<TestType>(expected)) <
                                  kMaxRoundedRelativeError);
                        else
                            CHECK(relative_error(to_host(y_d), expected) < kMaxRelativeError);
                    }
                }
            }
        }
    }
}

TEMPLATE_TEST_CASE("normed_linear and normed_swiglu_linear match the CPU on both sides of the handover", "[gpu]",
                   __half, __nv_bfloat16) {
    if (cuda::kIsBf16<TestType> && !device_runs_bf16()) {
        WARN("skipped: bf16 cuBLAS needs an sm_80+ GPU");
        return;
    }
    Stream stream;
    CublasHandle cublas;
    CUBLAS_CHECK(cublasSetStream(cublas, stream));

    ThreadPool pool(default_thread_count());
    const float eps = 1e-6f;
    const int in = 1024, ffn = 1536;
    uint64_t seed = 800;
    for (const int n : {1, cuda::kGemvMaxTokens, cuda::kGemvMaxTokens + 1, 16}) {
        FusedCase c{n, in, 2 * ffn, random_floats(size_t(n) * in, ++seed, 4.0f),
                    round_to<TestType>(random_floats(size_t(in), ++seed, 2.0f)),
                    round_to<TestType>(random_floats(size_t(2 * ffn) * in, ++seed))};
        const auto residual_d = to_device(c.residual);
        const auto norm_weight_d = to_device(to_elements<TestType>(c.norm_weight));
        const auto w_d = to_device(to_elements<TestType>(c.w));
        cuda::DeviceBuffer<TestType> normed_d(size_t(n) * in, "test scratch");
        cuda::DeviceBuffer<float> gate_up_d(size_t(n) * 2 * ffn, "test scratch");
        cuda::DeviceBuffer<float> y_d(size_t(n) * 2 * ffn, "test output");
        cuda::DeviceBuffer<TestType> mlp_d(size_t(n) * ffn, "test output");
        poison(y_d);
        poison(mlp_d);
        const cuda::NormedInput<TestType> input{residual_d.data(), norm_weight_d.data(), eps, normed_d.data()};
        cuda::normed_linear(cublas, input, n, in, w_d.data(), 2 * ffn, y_d.data());
        cuda::normed_swiglu_linear(cublas, input, n, in, w_d.data(), ffn, mlp_d.data(), gate_up_d.data());
        CUDA_CHECK(cudaStreamSynchronize(stream));

        // cuBLAS takes the normalised rows rounded to T; the fused GEMV does not round them.
        INFO("n " << n);
        const double bound = n <= cuda::kGemvMaxTokens ? kMaxRelativeError : kOutputTolerance<TestType>;
        CHECK(relative_error(to_host(y_d), fused_reference(c, eps, true, false, {}, pool)) < bound);
        const std::vector<float> mlp_expected = round_to<TestType>(fused_reference(c, eps, true, true, {}, pool));
        CHECK(relative_error(to_floats(to_host(mlp_d)), mlp_expected) < std::max(bound, kMaxRoundedRelativeError));
    }
}
