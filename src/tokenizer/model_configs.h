#pragma once
// What tokenizer_config.json and generation_config.json say about special tokens and chat formatting.
// Both files are optional.
#include <cstdint>
#include <filesystem>
#include <optional>
#include <string>
#include <vector>

namespace attn::tokenizer {

struct ModelConfigTokens {
    bool has_tokenizer_config = false;
    std::optional<std::string> bos_token;  // tokenizer_config "bos_token" (string or {"content": ...})
    std::optional<std::string> eos_token;
    std::string chat_template;             // tokenizer_config "chat_template", else chat_template.jinja
    std::optional<int32_t> generation_bos_id;
    std::vector<int32_t> generation_eos_ids;  // "eos_token_id" may be one id or a list
};

// Throws attn::Error naming the file when one is present but malformed.
ModelConfigTokens read_model_config_tokens(const std::filesystem::path& model_dir);

}  // namespace attn::tokenizer
