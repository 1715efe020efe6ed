#include "src/cli/cli_text.h"

#include <fstream>
#include <sstream>

#include "src/common/error.h"

namespace attn {

std::vector<std::string> split_list(const std::string& text) {
    std::vector<std::string> items;
    std::stringstream stream(text);
    for (std::string item; std::getline(stream, item, ',');)
        if (!item.empty()) items.push_back(item);
    return items;
}

std::string read_text_file(const std::string& path, const std::string& what) {
    std::ifstream in(path, std::ios::binary);
    if (!in) throw Error("cannot read " + what + " " + path);
    std::ostringstream text;
    text << in.rdbuf();
    return text.str();
}

}  // namespace attn
