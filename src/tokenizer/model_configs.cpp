#include "src/tokenizer/model_configs.h"

#include <fstream>
#include <sstream>

#include "src/tokenizer/json_file.h"

namespace attn::tokenizer {

namespace {

// transformers writes special tokens either as a string or as a serialized AddedToken.
std::optional<std::string> token_content(const nlohmann::json& config, const char* key) {
    const auto it = config.find(key);
    if (it == config.end() || it->is_null()) return std::nullopt;
    if (it->is_object()) return it->at("content").get<std::string>();
    return it->get<std::string>();
}

// A list of named templates picks "default", as transformers does when no name is given; without one
// there is no template to pick, which is no reason to refuse the tokenizer.
std::string chat_template_of(const nlohmann::json& config) {
    const auto it = config.find("chat_template");
    if (it == config.end() || it->is_null()) return {};
    if (it->is_string()) return it->get<std::string>();
    for (const auto& named : *it)
        if (named.at("name").get<std::string>() == "default") return named.at("template").get<std::string>();
    return {};
}

std::string read_text_file(const std::filesystem::path& path) {
    std::ifstream file(path, std::ios::binary);
    std::ostringstream contents;
    contents << file.rdbuf();
    return contents.str();
}

}  // namespace

ModelConfigTokens read_model_config_tokens(const std::filesystem::path& model_dir) {
    ModelConfigTokens tokens;
    const auto tokenizer_config = model_dir / "tokenizer_config.json";
    if (std::filesystem::exists(tokenizer_config)) {
        tokens.has_tokenizer_config = true;
        interpret_json_file(tokenizer_config, [&](const nlohmann::json& config) {
            tokens.bos_token = token_content(config, "bos_token");
            tokens.eos_token = token_content(config, "eos_token");
            tokens.chat_template = chat_template_of(config);
        });
    }
    // Since transformers 4.43 the template may live in its own file instead.
    const auto jinja = model_dir / "chat_template.jinja";
    if (tokens.chat_template.empty() && std::filesystem::exists(jinja)) tokens.chat_template = read_text_file(jinja);

    const auto generation_config = model_dir / "generation_config.json";
    if (std::filesystem::exists(generation_config)) {
        interpret_json_file(generation_config, [&](const nlohmann::json& config) {
            if (config.contains("bos_token_id") && !config.at("bos_token_id").is_null())
                tokens.generation_bos_id = config.at("bos_token_id").get<int32_t>();
            const auto eos = config.find("eos_token_id");
            if (eos == config.end() || eos->is_null()) return;
            if (eos->is_array()) tokens.generation_eos_ids = eos->get<std::vector<int32_t>>();
            else tokens.generation_eos_ids.push_back(eos->get<int32_t>());
        });
    }
    return tokens;
}

}  // namespace attn::tokenizer
