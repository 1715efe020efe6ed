#include "src/runtime/context_fit.h"

#include <algorithm>
#include <chrono>
#include <climits>

#include <spdlog/spdlog.h>

#include "src/common/error.h"
#include "src/runtime/gpu_memory.h"
#include "src/runtime/sampler.h"
#include "src/runtime/timed_runs.h"

namespace attn {
namespace {

constexpr int kCheckDecodeSteps = 16;
constexpr uint64_t kPromptSeed = 1234;

// The model's own log lines (weights, cache, workspace) would repeat at every probe. A probe allocates
// the weights without reading them (the same bytes in no time); the model that runs reads them.
std::unique_ptr<Model> build_quietly(const std::filesystem::path& model_dir, LoadOptions options, int context,
                                     bool probe) {
    options.context_size = context;
    options.weight_values = !probe;
    struct RestoreLevel {
        spdlog::level::level_enum level = spdlog::get_level();
        ~RestoreLevel() { spdlog::set_level(level); }
    } restore;
    if (restore.level < spdlog::level::warn) spdlog::set_level(spdlog::level::warn);
    return load_model(model_dir, options);
}

// Prefill to `context − decode steps`, then greedy decode steps to the end of the context.
void check_run(Model& model, int batch_tokens, ContextFit& fit, size_t& least_card_free) {
    const int decode_steps = std::min(kCheckDecodeSteps, fit.context / 2);
    std::vector<int32_t> history = random_tokens(fit.context - decode_steps, model.config().vocab_size, kPromptSeed);
    // A first batch loads the kernels and warms cuBLAS, which would otherwise land in the one timed pass.
    timed_prefill(model, {history.begin(), history.begin() + std::min<size_t>(batch_tokens, history.size())},
                  batch_tokens);
    model.reset();
    fit.prefill_tokens_per_s = history.size() / timed_prefill(model, history, batch_tokens);
    least_card_free = std::min(least_card_free, gpu_memory_use().card_free_bytes);

    SamplingParams greedy;
    greedy.temperature = 0;
    Sampler sampler(greedy);
    std::vector<double> step_seconds;
    for (int i = 0; i < decode_steps; ++i) {
        const auto start = std::chrono::steady_clock::now();
        history.push_back(model.forward_and_sample({history.back()}, sampler, history));
        step_seconds.push_back(std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count());
    }
    least_card_free = std::min(least_card_free, gpu_memory_use().card_free_bytes);
    ATTN_ASSERT(model.n_past() == fit.context);
    // The first steps capture the decode graph: the median of the rest.
    const size_t skip = std::min<size_t>(2, step_seconds.size() / 2);
    if (step_seconds.size() > skip)
        fit.decode_tokens_per_s = 1.0 / median({step_seconds.begin() + skip, step_seconds.end()});
}

}  // namespace

void require_cuda_device(const std::string& device) {
    if (!device_is_cuda(device))
        throw Error("fit measures GPU memory and needs a CUDA GPU (--device auto, cuda or cuda:N); --device " +
                    device + " gives none here");
}

int longest_fitting(int upper, int step, const std::function<bool(int)>& fits) {
    ATTN_ASSERT(upper > 0 && step > 0);
    if (fits(upper)) return upper;
    // Bisection over k·step below upper: k = lo fits (0 trivially), k = hi does not (hi·step ≥ upper).
    int lo = 0, hi = (upper - 1) / step + 1;
    while (hi - lo > 1) {
        const int mid = lo + (hi - lo) / 2;
        (fits(mid * step) ? lo : hi) = mid;
    }
    return lo * step;
}

ContextFit fit_context(const std::filesystem::path& model_dir, const LoadOptions& options, int upper, int step,
                       bool check) {
    require_cuda_device(options.device);
    if (upper < 1 || step < 1) throw Error("fit: --max-ctx and --step must be positive");
    ContextFit fit;
    int shortest_refused = INT_MAX;
    fit.context = longest_fitting(upper, step, [&](int context) {
        try {
            build_quietly(model_dir, options, context, true);
            spdlog::debug("fit: {} tokens build", context);
            return true;
        } catch (const OutOfMemoryError& e) {
            spdlog::debug("fit: {} tokens do not: {}", context, e.what());
            if (context < shortest_refused) {
                shortest_refused = context;
                fit.limit = e.resource();
                fit.limit_message = e.what();
            }
            return false;
        }
    });
    fit.reached_upper = fit.context == upper;
    if (fit.context == 0) return fit;

    const GpuMemoryUse before = gpu_memory_use();
    reset_gpu_memory_peak();
    const auto model = build_quietly(model_dir, options, fit.context, !check);
    const GpuMemoryUse built = gpu_memory_use();
    fit.kv_cache_bytes = model->kv_cache_bytes();
    fit.held_bytes = built.held_bytes - before.held_bytes;
    if (!check) return fit;
    size_t least_card_free = built.card_free_bytes;
    try {
        check_run(*model, options.batch_tokens, fit, least_card_free);
        fit.checked = true;
    } catch (const OutOfMemoryError& e) {
        fit.check_error = e.what();
    }
    fit.peak_bytes = gpu_memory_use().peak_bytes - before.held_bytes;
    fit.card_used_bytes = before.card_free_bytes > least_card_free ? before.card_free_bytes - least_card_free : 0;
    return fit;
}

}  // namespace attn
