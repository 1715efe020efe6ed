#pragma once
// `attn-infer fit`: the longest context that fits the GPU's memory (or --gpu-mem-limit, to stand in for a
// smaller card), per attention backend and KV cache type, as a table on stdout (or JSON with --json). Each
// length is measured by building the model at it (src/runtime/context_fit.h), and the longest is run:
// a prefill of the whole context and decode steps at its end, with the memory the card gave.
#include <memory>
#include <string>

#include <CLI/CLI.hpp>

#include "src/cli/settings.h"

namespace attn {

class FitCommand {
public:
    explicit FitCommand(CLI::App& app);
    bool selected() const { return command_->parsed(); }
    int run();

private:
    CLI::App* command_;
    std::unique_ptr<Settings> settings_;
    std::string model_dir_;
    std::string backends_ = "flash,xformers,sdp,naive";
    int max_context_ = 0;
    int step_ = 256;
    bool no_check_ = false;
    bool json_ = false;
};

}  // namespace attn
