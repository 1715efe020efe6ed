#pragma once
// Seeded random prompts and timed prefill, for the commands that measure a model rather than ask it
// something (bench, fit).
#include <cstdint>
#include <vector>

#include "src/runtime/model.h"

namespace attn {

double median(std::vector<double> values);

// `count` token ids drawn uniformly from [1, vocab), the same for the same seed.
std::vector<int32_t> random_tokens(int count, int vocab, uint64_t seed);

// Feeds `tokens` in chunks of `batch`; returns seconds (each forward returns its logits, so the device is
// done when it returns).
double timed_prefill(Model& model, const std::vector<int32_t>& tokens, int batch);

}  // namespace attn
