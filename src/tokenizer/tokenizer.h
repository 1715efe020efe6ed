#pragma once
// Hugging Face tokenizer.json, both BPE flavours the supported models use:
//  - byte-level (GPT-2, Llama 3, Qwen2, SmolLM): regex pre-tokenizer, bytes mapped to printable unicode;
//  - SentencePiece-style (Llama 2, Mistral, TinyLlama): "▁" for spaces, byte fallback <0xNN> tokens.
// encode() must give exactly the ids of the HF `tokenizers` library (golden tests in tests/data).
#include <cstdint>
#include <filesystem>
#include <memory>
#include <optional>
#include <string>
#include <vector>

namespace attn {

class Tokenizer {
public:
    // Reads dir/tokenizer.json, plus tokenizer_config.json and generation_config.json when present
    // (BOS/EOS ids, add_bos_token). Throws attn::Error with the file name on malformed input.
    static Tokenizer load(const std::filesystem::path& model_dir);
    ~Tokenizer();
    Tokenizer(Tokenizer&&) noexcept;
    Tokenizer& operator=(Tokenizer&&) noexcept;

    // add_special_tokens: apply the post-processor (e.g. prepend BOS), as HF's encode() default does.
    std::vector<int32_t> encode(const std::string& text, bool add_special_tokens = true) const;
    std::string decode(const std::vector<int32_t>& ids, bool skip_special_tokens = false) const;

    int32_t vocab_size() const;
    std::optional<int32_t> bos_id() const;
    // Every id that ends generation (eos_token_id of generation_config may be a list).
    const std::vector<int32_t>& eos_ids() const;
    bool is_special(int32_t id) const;
    // The Jinja chat template from tokenizer_config.json, empty when the model has none.
    const std::string& chat_template() const;

private:
    struct Impl;
    explicit Tokenizer(std::unique_ptr<Impl> impl);
    std::unique_ptr<Impl> impl_;
    friend class StreamDecoder;
};

// Turns ids into text as they are generated, never emitting half a UTF-8 character; the text of
// push(a)+push(b)+...+finish() equals decode({a, b, ...}).
class StreamDecoder {
public:
    explicit StreamDecoder(const Tokenizer& tokenizer, bool skip_special_tokens = true);
    std::string push(int32_t id);
    std::string finish();

private:
    const Tokenizer& tokenizer_;
    bool skip_special_;
    std::vector<int32_t> ids_;
    size_t emitted_bytes_ = 0;
};

}  // namespace attn
