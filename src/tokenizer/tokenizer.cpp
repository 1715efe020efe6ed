// Tokenizer::encode / decode: HF's pipeline over the components of tokenizer_impl.h.
#include "src/tokenizer/tokenizer.h"

#include "src/tokenizer/pipeline.h"
#include "src/tokenizer/utf8.h"

namespace attn {

std::optional<int32_t> tokenizer::Pipeline::token_to_id(const std::string& token) const {
    for (const auto& added_token : added->tokens())
        if (added_token.content == token) return added_token.id;
    return model.token_to_id(token);
}

const std::string* tokenizer::Pipeline::id_to_token(int32_t id) const {
    if (const auto* added_token = added->find(id)) return &added_token->content;
    return model.id_to_token(id);
}

std::vector<int32_t> Tokenizer::encode(const std::string& text, bool add_special_tokens) const {
    // HF only ever sees valid text (a Python str); bytes that are not UTF-8 become U+FFFD.
    const std::string valid_text = tokenizer::to_valid_utf8_lossy(text);
    std::vector<int32_t> ids;
    for (tokenizer::Segment& segment : impl_->added->split(valid_text)) {
        if (segment.id) {
            ids.push_back(*segment.id);
            continue;
        }
        std::vector<tokenizer::TextPiece> words{std::move(segment.piece)};
        if (impl_->pre_tokenizer) impl_->pre_tokenizer->pre_tokenize(words);
        for (const tokenizer::TextPiece& word : words) impl_->model.tokenize(word.text, ids);
    }
    if (add_special_tokens && impl_->post_processor) ids = impl_->post_processor->add_special_tokens(std::move(ids));
    return ids;
}

std::string Tokenizer::decode(const std::vector<int32_t>& ids, bool skip_special_tokens) const {
    std::vector<std::string> tokens;
    tokens.reserve(ids.size());
    for (int32_t id : ids) {
        const std::string* token = impl_->id_to_token(id);
        if (token == nullptr) continue;  // as HF: ids outside the vocabulary decode to nothing
        if (skip_special_tokens && impl_->special_contents.count(*token)) continue;
        tokens.push_back(*token);
    }
    std::string text;
    if (!impl_->decoder) {
        // Without a decoder HF joins the tokens with spaces.
        for (size_t i = 0; i < tokens.size(); ++i) text += (i ? " " : "") + tokens[i];
        return text;
    }
    impl_->decoder->decode_chain(tokens);
    for (const std::string& piece : tokens) text += piece;
    return text;
}

int32_t Tokenizer::vocab_size() const { return impl_->vocab_size; }
std::optional<int32_t> Tokenizer::bos_id() const { return impl_->bos_id; }
const std::vector<int32_t>& Tokenizer::eos_ids() const { return impl_->eos_ids; }
const std::string& Tokenizer::chat_template() const { return impl_->chat_template; }

bool Tokenizer::is_special(int32_t id) const {
    const auto* token = impl_->added->find(id);
    return token != nullptr && token->special;
}

}  // namespace attn
