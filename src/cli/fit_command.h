#pragma once
// `attn-infer fit`: the longest context that fits the GPU's memory (or --gpu-mem-limit, to stand in for a
// smaller card), per attention backend and KV cache type, as a table on stdout (or JSON with --json). Each
// length is measured by building the model at it (src/runtime/context_fit.h), and the longest is run:
// a prefill of the whole context and decode steps at its end, with the memory the card gave.
#include "src/cli/measure_command.h"

namespace attn {

class FitCommand final : public MeasureCommand {
public:
    explicit FitCommand(CLI::App& app);
    int run() override;

private:
    int max_context_ = 0;
    int step_ = 256;
    bool no_check_ = false;
};

}  // namespace attn
