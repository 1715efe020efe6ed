#pragma once
// Small text helpers the subcommands share: comma-separated lists and whole files.
#include <string>
#include <vector>

namespace attn {

// "a,b,,c" -> {"a", "b", "c"}
std::vector<std::string> split_list(const std::string& text);
// The file's bytes; throws attn::Error naming `what` and the path when it cannot be read.
std::string read_text_file(const std::string& path, const std::string& what);

}  // namespace attn
