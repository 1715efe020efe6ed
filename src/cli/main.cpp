// attn-infer: run a Hugging Face model folder on the GPU or the CPU.
//   attn-infer -m MODEL_DIR -p "prompt"
// Every error a user can cause ends here as one line on stderr and exit code 1.
#include <cstdio>
#include <exception>

#include <CLI/CLI.hpp>
#include <spdlog/sinks/stdout_color_sinks.h>
#include <spdlog/spdlog.h>

#include "src/cli/bench_command.h"
#include "src/cli/fit_command.h"
#include "src/cli/generate_command.h"
#include "src/cli/perplexity_command.h"
#include "src/common/error.h"

int main(int argc, char** argv) {
    auto logger = spdlog::stderr_color_mt("attn-infer");
    logger->set_pattern("%^%l%$ %v");
    spdlog::set_default_logger(logger);

    CLI::App app{"attn-infer: LLM inference with selectable attention backends and KV cache layouts"};
    app.set_version_flag("--version", std::string("attn-infer ") + ATTN_VERSION);
    attn::GenerateCommand generate(app);
    attn::BenchCommand bench(app);
    attn::PerplexityCommand perplexity(app);
    attn::FitCommand fit(app);
    try {
        app.parse(argc, argv);
    } catch (const CLI::ParseError& e) {
        return app.exit(e);
    }
    try {
        if (bench.selected()) return bench.run();
        if (perplexity.selected()) return perplexity.run();
        if (fit.selected()) return fit.run();
        return generate.run();
    } catch (const attn::Error& e) {
        std::fflush(stdout);
        std::fprintf(stderr, "error: %s\n", e.what());
    } catch (const std::bad_alloc&) {
        std::fflush(stdout);
        std::fprintf(stderr, "error: out of host memory (try a smaller -c/--ctx-size)\n");
    } catch (const std::exception& e) {
        std::fflush(stdout);
        std::fprintf(stderr, "error: %s\n", e.what());
    }
    return 1;
}
