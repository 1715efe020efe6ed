#include "tests/golden_model.h"

#include <algorithm>
#include <fstream>

#include <nlohmann/json.hpp>

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

}  // namespace attn::test
