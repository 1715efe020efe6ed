#pragma once
// The tiny test models under tests/data/models/ and the golden logits transformers computed for them
// (tools/make_tiny_models.py).
#include <filesystem>
#include <string>
#include <vector>

#include "src/runtime/model.h"

namespace attn::test {

struct GoldenModel {
    std::filesystem::path dir;
    std::vector<int32_t> prompt_ids;
    std::vector<int> positions;             // prompt positions whose logits are stored
    std::vector<std::vector<float>> logits;  // one row per stored position
    std::vector<int32_t> greedy_ids;         // transformers' greedy continuation of prompt_ids
    std::string prompt_text;
    std::vector<int32_t> prompt_text_ids;
};

std::vector<std::string> golden_model_names();
GoldenModel load_golden_model(const std::string& name);

// ||ours - golden|| / ||golden|| for each stored position, given every prompt position's logits.
std::vector<double> golden_logit_errors(const GoldenModel& golden, const std::vector<float>& all_logits, int vocab);

// From a fresh sequence: prefill the prompt, then `count` greedy tokens through forward_and_sample,
// the path generation takes (on the GPU: sampled inside the decode graph).
std::vector<int32_t> greedy_continuation(Model& model, const std::vector<int32_t>& prompt_ids, size_t count);

}  // namespace attn::test
