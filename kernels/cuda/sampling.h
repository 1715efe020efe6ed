#pragma once
// Next-token selection on the GPU, so that decoding never copies logits back: greedy argmax and the full
// sampler with attn::Sampler's semantics and order (repetition penalty, temperature, top-k, top-p over
// the renormalised top-k survivors, min-p, then a draw). Nothing here allocates or synchronises, so a
// decode step including its sampling can be captured in a CUDA graph and replayed.
#include <cstddef>
#include <cstdint>

#include <cuda_runtime.h>

#include "src/runtime/sampler.h"

namespace attn::cuda {

// Index of the largest of logits[0, vocab) (device), the lowest index on ties as torch.argmax; written to
// out_token (device).
void argmax(const float* logits, int vocab, int32_t* out_token, cudaStream_t stream);

// Scratch bytes that sample() needs for this vocabulary; allocate once.
size_t sampling_workspace_bytes(int vocab);

// The uniform number in [0, 1) of draw `step` for `seed`: output step + 1 of splitmix64 seeded with `seed`,
// reduced to 24 bits so that it is exact in fp32. Counter-based, so a draw depends on (seed, step) only.
constexpr float sampling_uniform(uint64_t seed, uint64_t step) {
    uint64_t z = seed + (step + 1) * 0x9E3779B97F4A7C15ull;
    z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ull;
    z = (z ^ (z >> 27)) * 0x94D049BB133111EBull;
    z ^= z >> 31;
    return float(z >> 40) * 0x1.0p-24f;
}

// Samples one token from logits[0, vocab) (device, fp32, left unchanged) into out_token (device).
// recent_tokens (device, [n_recent]) is the repetition-penalty window the caller keeps (params.repeat_last_n
// is not read here); each distinct id is penalised once and ids outside [0, vocab) are skipped, so a
// fixed-size ring buffer padded with -1 keeps n_recent, and so a captured graph, constant.
// Temperature <= 0 is greedy on the penalised logits and leaves *step alone. Otherwise draw number *step
// (a device counter) of params.seed picks the token and *step is incremented, so the same seed and counter
// give the same tokens; each sequence needs its own counter and workspace. params must be valid as
// attn::Sampler checks them. Where attn::Sampler returns at once or throws (largest logit +inf, every logit
// -inf) the lowest id of the largest logit is returned; NaN logits (attn::Sampler throws) give any token.
void sample(const float* logits, int vocab, const int32_t* recent_tokens, int n_recent, const SamplingParams& params,
            uint64_t* step, void* workspace, size_t workspace_bytes, int32_t* out_token, cudaStream_t stream);

}  // namespace attn::cuda
