#pragma once
// tokenizer.json "post_processor": adds the special tokens of encode(add_special_tokens=true), e.g. BOS.
// Supported types: TemplateProcessing (its "single" template), ByteLevel (offsets only: no ids change),
// Sequence.
#include <cstdint>
#include <memory>
#include <vector>

#include <nlohmann/json_fwd.hpp>

namespace attn::tokenizer {

class PostProcessor {
public:
    virtual ~PostProcessor() = default;
    virtual std::vector<int32_t> add_special_tokens(std::vector<int32_t> ids) const = 0;
};

// nullptr for a JSON null. Throws attn::Error for an unsupported type.
std::unique_ptr<PostProcessor> make_post_processor(const nlohmann::json& spec);

}  // namespace attn::tokenizer
