#include "src/tokenizer/json_file.h"

#include <fstream>
#include <sstream>

namespace attn::tokenizer {

nlohmann::json read_json_file(const std::filesystem::path& path) {
    std::ifstream file(path, std::ios::binary);
    if (!file) throw Error(path.string() + ": cannot open the file; is this a Hugging Face model folder?");
    std::ostringstream contents;
    contents << file.rdbuf();
    try {
        return nlohmann::json::parse(contents.str());
    } catch (const nlohmann::json::parse_error& e) {
        throw Error(path.string() + ": malformed JSON (" + e.what() + ")");
    }
}

}  // namespace attn::tokenizer
