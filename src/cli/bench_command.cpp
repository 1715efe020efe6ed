#include "src/cli/bench_command.h"

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <iostream>
#include <sstream>

#include <nlohmann/json.hpp>
#include <spdlog/spdlog.h>

#include "src/cli/load_options.h"
#include "src/common/error.h"
#include "src/runtime/load_model.h"
#include "src/runtime/timed_runs.h"

namespace attn {
namespace {

struct Row {
    std::string backend, test;
    int tokens = 0, depth = 0;
    double tokens_per_s = 0;
};

}  // namespace

BenchCommand::BenchCommand(CLI::App& app)
    : MeasureCommand(app, "bench", "measure prompt and generation speed per attention backend", "auto") {
    command_->add_option("--pp", prompt_lengths_, "prompt lengths to time (default 512 4096)")->delimiter(',');
    command_->add_option("--depth", depths_, "context depths for generation (default 0 4096)")->delimiter(',');
    command_->add_option("--tg", generate_tokens_, "tokens generated per measurement (default 64)");
    command_->add_option("-r,--repetitions", repetitions_, "runs per figure, median reported (default 5)");
    add_settings();
}

int BenchCommand::run() {
    const Settings& s = resolve_settings();
    if (repetitions_ < 1 || generate_tokens_ < 1) throw Error("bench: -r and --tg must be positive");
    const int longest = std::max(*std::max_element(prompt_lengths_.begin(), prompt_lengths_.end()),
                                 *std::max_element(depths_.begin(), depths_.end()) + generate_tokens_);
    std::vector<Row> rows;
    std::string device;
    for (const std::string& name : backends()) {
        LoadOptions load = load_options_from(s);
        load.backend = parse_attention_backend(name);
        load.context_size = longest;
        auto model = load_model(model_dir_, load);
        device = model->description();
        spdlog::info("bench: {}", device);
        const int vocab = model->config().vocab_size;

        for (int length : prompt_lengths_) {
            const auto tokens = random_tokens(length, vocab, 42 + length);
            std::vector<double> rates;
            for (int r = 0; r <= repetitions_; ++r) {
                model->reset();
                const double seconds = timed_prefill(*model, tokens, load.batch_tokens);
                if (r > 0) rates.push_back(length / seconds);  // run 0 is the warm-up
            }
            rows.push_back({name, "pp" + std::to_string(length), length, 0, median(rates)});
        }
        for (int depth : depths_) {
            const auto context = random_tokens(std::max(depth, 1), vocab, 7 + depth);
            std::vector<double> rates;
            // Greedy decoding through the same path as generation (on the GPU the token never leaves
            // the device until it is read back, as when streaming).
            SamplingParams greedy;
            greedy.temperature = 0;
            Sampler sampler(greedy);
            for (int r = 0; r <= repetitions_; ++r) {
                model->reset();
                timed_prefill(*model, context, load.batch_tokens);
                std::vector<int32_t> history = context;
                int32_t token = history.back();
                const auto start = std::chrono::steady_clock::now();
                for (int i = 0; i < generate_tokens_; ++i) {
                    token = model->forward_and_sample({token}, sampler, history);
                    history.push_back(token);
                }
                const double seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
                if (r > 0) rates.push_back(generate_tokens_ / seconds);
            }
            rows.push_back({name, "tg" + std::to_string(generate_tokens_), generate_tokens_, depth, median(rates)});
        }
    }

    if (json_) {
        nlohmann::json out = nlohmann::json::array();
        for (const Row& row : rows)
            out.push_back({{"backend", row.backend}, {"test", row.test}, {"depth", row.depth},
                           {"tokens_per_s", row.tokens_per_s}, {"device", device}});
        std::cout << out.dump(2) << std::endl;
        return 0;
    }
    std::printf("| %-9s | %-8s | %7s | %12s |\n", "backend", "test", "depth", "tokens/s");
    std::printf("|-----------|----------|---------|--------------|\n");
    for (const Row& row : rows)
        std::printf("| %-9s | %-8s | %7d | %12.1f |\n", row.backend.c_str(), row.test.c_str(), row.depth, row.tokens_per_s);
    std::printf("device: %s\n", device.c_str());
    return 0;
}

}  // namespace attn
