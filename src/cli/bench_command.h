#pragma once
// `attn-infer bench`, in the manner of llama-bench: prompt processing (pp) tokens/s at given prompt
// lengths and text generation (tg) tokens/s at given context depths, per attention backend, as a table
// on stdout (or JSON with --json). Inputs are seeded random token ids; every figure is the median of
// --repetitions runs after one warm-up.
#include <memory>
#include <string>
#include <vector>

#include <CLI/CLI.hpp>

#include "src/cli/settings.h"

namespace attn {

class BenchCommand {
public:
    explicit BenchCommand(CLI::App& app);
    bool selected() const { return command_->parsed(); }
    int run();

private:
    CLI::App* command_;
    std::unique_ptr<Settings> settings_;
    std::string model_dir_;
    std::string backends_ = "auto";
    std::vector<int> prompt_lengths_ = {512, 4096};
    std::vector<int> depths_ = {0, 4096};
    int generate_tokens_ = 64;
    int repetitions_ = 5;
    bool json_ = false;
};

}  // namespace attn
