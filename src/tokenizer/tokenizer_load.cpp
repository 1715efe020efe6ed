// Tokenizer::load: builds the pipeline from tokenizer.json and the special-token facts from the configs.
#include <algorithm>

#include "src/tokenizer/json_file.h"
#include "src/tokenizer/model_configs.h"
#include "src/tokenizer/pipeline.h"

namespace attn {

namespace {

tokenizer::Pipeline build_pipeline(const nlohmann::json& spec) {
    const nlohmann::json null;
    auto component = [&](const char* key) -> const nlohmann::json& {
        const auto it = spec.find(key);
        return it == spec.end() ? null : *it;
    };
    tokenizer::Pipeline pipeline(tokenizer::BpeModel::from_json(spec.at("model")));
    pipeline.normalizer = tokenizer::make_normalizer(component("normalizer"));
    pipeline.pre_tokenizer = tokenizer::make_pre_tokenizer(component("pre_tokenizer"));
    pipeline.post_processor = tokenizer::make_post_processor(component("post_processor"));
    pipeline.decoder = tokenizer::make_decoder(component("decoder"));
    pipeline.added = std::make_unique<tokenizer::AddedVocabulary>(
        tokenizer::AddedVocabulary::parse(component("added_tokens")), pipeline.normalizer.get());

    pipeline.vocab_size = pipeline.model.id_limit();
    for (const auto& token : pipeline.added->tokens()) {
        pipeline.vocab_size = std::max(pipeline.vocab_size, token.id + 1);
        if (token.special) pipeline.special_contents.insert(token.content);
    }
    return pipeline;
}

void resolve_config_tokens(tokenizer::Pipeline& pipeline, const tokenizer::ModelConfigTokens& config) {
    // transformers takes BOS from tokenizer_config alone (Qwen2 says null there even though its
    // generation_config names one); generation_config only stands in when tokenizer_config is absent.
    if (config.bos_token) pipeline.bos_id = pipeline.token_to_id(*config.bos_token);
    else if (!config.has_tokenizer_config) pipeline.bos_id = config.generation_bos_id;

    pipeline.eos_ids = config.generation_eos_ids;
    if (config.eos_token)
        if (const auto eos = pipeline.token_to_id(*config.eos_token)) pipeline.eos_ids.push_back(*eos);
    std::sort(pipeline.eos_ids.begin(), pipeline.eos_ids.end());
    pipeline.eos_ids.erase(std::unique(pipeline.eos_ids.begin(), pipeline.eos_ids.end()), pipeline.eos_ids.end());
    pipeline.chat_template = config.chat_template;
}

}  // namespace

Tokenizer Tokenizer::load(const std::filesystem::path& model_dir) {
    auto impl = std::make_unique<Impl>(tokenizer::interpret_json_file(model_dir / "tokenizer.json", build_pipeline));
    resolve_config_tokens(*impl, tokenizer::read_model_config_tokens(model_dir));
    return Tokenizer(std::move(impl));
}

Tokenizer::Tokenizer(std::unique_ptr<Impl> impl) : impl_(std::move(impl)) {}
Tokenizer::~Tokenizer() = default;
Tokenizer::Tokenizer(Tokenizer&&) noexcept = default;
Tokenizer& Tokenizer::operator=(Tokenizer&&) noexcept = default;

}  // namespace attn
