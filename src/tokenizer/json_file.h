#pragma once
// Reading the JSON files of a model folder, with errors that name the file.
#include <filesystem>
#include <string>

#include <nlohmann/json.hpp>

#include "src/common/error.h"

namespace attn::tokenizer {

// Throws attn::Error naming `path` when it cannot be read or is not JSON.
nlohmann::json read_json_file(const std::filesystem::path& path);

// Runs `interpret` on the contents of `path`; a missing field, a wrong type or an unsupported component
// becomes one attn::Error that starts with the file name.
template <class Interpret>
auto interpret_json_file(const std::filesystem::path& path, Interpret&& interpret) {
    const nlohmann::json json = read_json_file(path);
    try {
        return interpret(json);
    } catch (const nlohmann::json::exception& e) {
        throw Error(path.string() + ": unexpected content (" + e.what() + ")");
    } catch (const Error& e) {
        throw Error(path.string() + ": " + e.what());
    }
}

}  // namespace attn::tokenizer
