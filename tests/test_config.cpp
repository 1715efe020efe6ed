// config.json parsing: per-architecture defaults, RoPE scaling in both the transformers 4.x and 5.x
// spellings, which layers get a sliding window, and clear errors for what we do not run.
#include <catch2/catch.hpp>
#include <nlohmann/json.hpp>

#include "kernels/cpu/rope.h"
#include "src/common/error.h"
#include "src/model/config.h"

using namespace attn;
using nlohmann::json;

namespace {

json base_config(const std::string& model_type) {
    return {{"model_type", model_type}, {"hidden_size", 64},       {"num_hidden_layers", 4},
            {"num_attention_heads", 4}, {"num_key_value_heads", 2}, {"intermediate_size", 128},
            {"vocab_size", 100},        {"rms_norm_eps", 1e-5},     {"max_position_embeddings", 256}};
}

}  // namespace

TEST_CASE("Llama config: shapes and defaults", "[config]") {
    const auto c = ModelConfig::from_json(base_config("llama"), "config.json");
    CHECK(c.head_dim == 16);
    CHECK(c.n_kv_heads == 2);
    CHECK_FALSE(c.qkv_bias);
    CHECK_FALSE(c.qk_norm);
    CHECK(c.layer_window == std::vector<int>{0, 0, 0, 0});
    CHECK(c.rope.scaling == RopeScaling::None);
    CHECK(c.rope.theta == 10000.0);
}

TEST_CASE("Architecture features", "[config]") {
    CHECK(ModelConfig::from_json(base_config("qwen2"), "c").qkv_bias);
    auto qwen3 = base_config("qwen3");
    qwen3["head_dim"] = 32;
    const auto c3 = ModelConfig::from_json(qwen3, "c");
    CHECK(c3.qk_norm);
    CHECK(c3.head_dim == 32);
    CHECK(c3.q_dim() == 128);
    auto llama = base_config("llama");
    llama["attention_bias"] = true;
    const auto cl = ModelConfig::from_json(llama, "c");
    CHECK(cl.qkv_bias);
    CHECK(cl.o_bias);
}

TEST_CASE("Sliding window layers", "[config]") {
    auto mistral = base_config("mistral");
    mistral["sliding_window"] = 8;
    CHECK(ModelConfig::from_json(mistral, "c").layer_window == std::vector<int>{8, 8, 8, 8});
    mistral["sliding_window"] = nullptr;
    CHECK(ModelConfig::from_json(mistral, "c").layer_window == std::vector<int>{0, 0, 0, 0});

    auto qwen2 = base_config("qwen2");
    qwen2["sliding_window"] = 16;
    qwen2["max_window_layers"] = 1;
    CHECK(ModelConfig::from_json(qwen2, "c").layer_window == std::vector<int>{0, 0, 0, 0});  // use_sliding_window off
    qwen2["use_sliding_window"] = true;
    CHECK(ModelConfig::from_json(qwen2, "c").layer_window == std::vector<int>{0, 16, 16, 16});
    qwen2["layer_types"] = {"full_attention", "sliding_attention", "full_attention", "sliding_attention"};
    CHECK(ModelConfig::from_json(qwen2, "c").layer_window == std::vector<int>{0, 16, 0, 16});
}

TEST_CASE("RoPE scaling in both config spellings", "[config][rope]") {
    auto v4 = base_config("llama");
    v4["rope_theta"] = 500000.0;
    v4["rope_scaling"] = {{"rope_type", "llama3"}, {"factor", 8.0}, {"low_freq_factor", 1.0},
                          {"high_freq_factor", 4.0}, {"original_max_position_embeddings", 64}};
    auto v5 = base_config("llama");
    v5["rope_parameters"] = v4["rope_scaling"];
    v5["rope_parameters"]["rope_theta"] = 500000.0;
    for (const auto& j : {v4, v5}) {
        const auto c = ModelConfig::from_json(j, "c");
        CHECK(c.rope.scaling == RopeScaling::Llama3);
        CHECK(c.rope.theta == 500000.0);
        CHECK(c.rope.original_max_position_embeddings == 64);
    }
    auto yarn = base_config("qwen2");
    yarn["rope_scaling"] = {{"type", "yarn"}, {"factor", 4.0}, {"original_max_position_embeddings", 64}};
    const auto cy = ModelConfig::from_json(yarn, "c");
    CHECK(cy.rope.scaling == RopeScaling::Yarn);
    CHECK(cy.rope.attention_factor == Approx(0.1 * std::log(4.0) + 1.0));
}

TEST_CASE("RoPE tables follow each scaling rule", "[rope]") {
    RopeConfig rope;
    rope.theta = 10000;
    const auto plain = cpu::RopeTable::build(rope, 16);
    CHECK(plain.inv_freq[0] == 1.0f);
    CHECK(plain.inv_freq[1] == Approx(std::pow(10000.0, -2.0 / 16)));
    rope.scaling = RopeScaling::Linear;
    rope.factor = 2;
    CHECK(cpu::RopeTable::build(rope, 16).inv_freq[3] == Approx(plain.inv_freq[3] / 2));
    rope.scaling = RopeScaling::Llama3;
    rope.factor = 8;
    rope.original_max_position_embeddings = 64;
    const auto llama3 = cpu::RopeTable::build(rope, 16);
    CHECK(llama3.inv_freq[0] == plain.inv_freq[0]);          // short wavelength: kept
    CHECK(llama3.inv_freq[7] == Approx(plain.inv_freq[7] / 8));  // long wavelength: divided by factor
}

TEST_CASE("Config errors name the problem", "[config]") {
    CHECK_THROWS_WITH(ModelConfig::from_json(base_config("gpt_neox"), "x/config.json"),
                      Catch::Contains("unsupported model_type 'gpt_neox'") && Catch::Contains("llama, mistral, qwen2, qwen3"));
    auto missing = base_config("llama");
    missing.erase("hidden_size");
    CHECK_THROWS_WITH(ModelConfig::from_json(missing, "x/config.json"), Catch::Contains("'hidden_size'"));
    auto heads = base_config("llama");
    heads["num_key_value_heads"] = 3;
    CHECK_THROWS_WITH(ModelConfig::from_json(heads, "c"), Catch::Contains("multiple of num_key_value_heads"));
    auto rope = base_config("llama");
    rope["rope_scaling"] = {{"rope_type", "longrope"}, {"factor", 2.0}};
    CHECK_THROWS_WITH(ModelConfig::from_json(rope, "c"), Catch::Contains("unsupported rope scaling type 'longrope'"));
    CHECK_THROWS_AS(ModelConfig::load("/nonexistent"), Error);
}
