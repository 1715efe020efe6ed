#pragma once
// tokenizer.json "decoder": turns token strings back into text. Supported types: ByteLevel, Metaspace,
// Replace, ByteFallback, Fuse, Strip, Sequence. Each works on the whole list of tokens (HF's decode_chain)
// because some look at a token's neighbours or position (ByteFallback groups, Metaspace's first token).
#include <memory>
#include <string>
#include <vector>

#include <nlohmann/json_fwd.hpp>

namespace attn::tokenizer {

class Decoder {
public:
    virtual ~Decoder() = default;
    virtual void decode_chain(std::vector<std::string>& tokens) const = 0;
};

// nullptr for a JSON null. Throws attn::Error for an unsupported type.
std::unique_ptr<Decoder> make_decoder(const nlohmann::json& spec);

// Whether `token` is a byte-fallback token "<0xNN>", and its byte.
bool parse_byte_token(const std::string& token, unsigned char& byte);

}  // namespace attn::tokenizer
