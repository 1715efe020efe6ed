#pragma once
// `attn-infer bench`, in the manner of llama-bench: prompt processing (pp) tokens/s at given prompt
// lengths and text generation (tg) tokens/s at given context depths, per attention backend, as a table
// on stdout (or JSON with --json). Inputs are seeded random token ids; every figure is the median of
// --repetitions runs after one warm-up.
#include <vector>

#include "src/cli/measure_command.h"

namespace attn {

class BenchCommand final : public MeasureCommand {
public:
    explicit BenchCommand(CLI::App& app);
    int run() override;

private:
    std::vector<int> prompt_lengths_ = {512, 4096};
    std::vector<int> depths_ = {0, 4096};
    int generate_tokens_ = 64;
    int repetitions_ = 5;
};

}  // namespace attn
