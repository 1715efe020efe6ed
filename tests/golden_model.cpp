#include "tests/golden_model.h"

#include <algorithm>
#include <fstream>

#include <nlohmann/json.hpp>

#include "tests/random_data.h"

namespace attn::test {

std::vector<std::string> golden_model_names() {
    std::vector<std::string> names;
    for (const auto& entry : std::filesystem::directory_iterator(std::filesystem::path(ATTN_TEST_DATA_DIR) / "models"))
        if (std::filesystem::exists(entry.path() / "golden.json")) names.push_back(entry.path().filename().string());
    std::sort(names.begin(), names.end());
    return names;
}

GoldenModel load_golden_model(const std::string& name) {
    GoldenModel golden;
    golden.dir = std::filesystem::path(ATTN_TEST_DATA_DIR) / "models" / name;
    std::ifstream in(golden.dir / "golden.json");
    const auto json = nlohmann::json::parse(in);
    golden.prompt_ids = json.at("prompt_ids").get<std::vector<int32_t>>();
    golden.positions = json.at("positions").get<std::vector<int>>();
    golden.logits = json.at("logits").get<std::vector<std::vector<float>>>();
    golden.greedy_ids = json.at("greedy_ids").get<std::vector<int32_t>>();
    golden.prompt_text = json.value("prompt_text", "");
    golden.prompt_text_ids = json.value("prompt_text_ids", std::vector<int32_t>{});
    return golden;
}

std::vector<double> golden_logit_errors(const GoldenModel& golden, const std::vector<float>& all_logits, int vocab) {
    std::vector<double> errors;
    for (size_t r = 0; r < golden.positions.size(); ++r) {
        const auto row = all_logits.begin() + size_t(golden.positions[r]) * vocab;
        errors.push_back(relative_error(std::vector<float>(row, row + vocab), golden.logits[r]));
    }
    return errors;
}

std::vector<int32_t> greedy_continuation(Model& model, const std::vector<int32_t>& prompt_ids, size_t count) {
    SamplingParams greedy;
    greedy.temperature = 0;
    Sampler sampler(greedy);
    model.reset();
    std::vector<int32_t> history = prompt_ids, generated;
    int32_t next = model.forward_and_sample(prompt_ids, sampler, history);
    while (generated.size() < count) {
        generated.push_back(next);
        history.push_back(next);
        if (generated.size() < count) next = model.forward_and_sample({next}, sampler, history);
    }
    return generated;
}

}  // namespace attn::test
