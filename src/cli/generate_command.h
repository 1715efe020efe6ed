#pragma once
// The default command: load a model, encode the prompt, stream generated text to stdout and timings
// to stderr (or one JSON object to stdout with --json).
#include <memory>
#include <string>

#include <CLI/CLI.hpp>

#include "src/cli/settings.h"

namespace attn {

class GenerateCommand {
public:
    explicit GenerateCommand(CLI::App& app);
    int run();

private:
    std::string read_prompt() const;

    std::unique_ptr<Settings> settings_;
    std::string model_dir_;
    std::string prompt_;
    std::string prompt_file_;
    bool chat_ = false;
    bool json_ = false;
    bool verbose_ = false;
    bool no_bos_ = false;
};

}  // namespace attn
