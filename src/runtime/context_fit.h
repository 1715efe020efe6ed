#pragma once
// The longest context a model fits into GPU memory with a given attention backend and KV cache, found by
// building the model: a CudaModel takes its weights, KV cache, activations and attention workspace when it
// is built, so a context fits when the model builds under the cap (--gpu-mem-limit, else what the card has
// free). A run at the length found (a prefill of the context, then decode steps up to its end) checks that
// nothing more is needed on the way, and measures what the card itself gave (the CUDA context aside).
#include <cstddef>
#include <filesystem>
#include <functional>
#include <string>

#include "src/runtime/load_model.h"

namespace attn {

// The longest context in (0, upper] for which `fits` holds: `upper` itself, else a multiple of `step` found
// by bisection; 0 when not even `step` fits. `fits` must be monotone (a context that fits, fits shorter).
int longest_fitting(int upper, int step, const std::function<bool(int)>& fits);

struct ContextFit {
    int context = 0;             // tokens; 0: not even `step` tokens fit
    bool reached_upper = false;  // `upper` fits: memory would allow more than was asked
    // The allocation refused one step beyond `context` ("KV cache", ...): the first that no longer fit, in the
    // order a model makes them (weights, activations, KV cache, attention workspace), not necessarily one
    // that grows with the context.
    std::string limit;
    std::string limit_message;   // its out-of-memory message
    size_t kv_cache_bytes = 0;   // at `context`
    size_t held_bytes = 0;       // every allocation of ours with the model built at `context`
    // The run at `context`, when asked for:
    bool checked = false;
    size_t peak_bytes = 0;            // our allocations, the most at once during the run
    size_t card_used_bytes = 0;       // the card's free memory before the model minus its least during the run
    double prefill_tokens_per_s = 0;  // one pass, context − decode steps tokens in chunks of the batch size
    double decode_tokens_per_s = 0;   // the median step at the end of the context
    std::string check_error;          // the run's out-of-memory message, when it ran out after all
};

// Throws attn::Error, saying fit needs one, unless `device` names a CUDA GPU here.
void require_cuda_device(const std::string& device);

// Builds the model of `options` (its context_size is what varies) until the longest context is found.
// Throws attn::Error for anything but running out of memory (an unsupported backend, a bad block size) and
// when `options.device` is not a CUDA GPU.
ContextFit fit_context(const std::filesystem::path& model_dir, const LoadOptions& options, int upper, int step,
                       bool check);

}  // namespace attn
