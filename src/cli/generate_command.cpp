#include "src/cli/generate_command.h"

#include <chrono>
#include <cstdio>
#include <fstream>
#include <iostream>
#include <sstream>

#include <nlohmann/json.hpp>
#include <spdlog/spdlog.h>

#include "src/cli/cli_text.h"
#include "src/cli/load_options.h"
#include "src/common/error.h"
#include "src/runtime/generator.h"
#include "src/runtime/load_model.h"
#include "src/tokenizer/chat_format.h"
#include "src/tokenizer/tokenizer.h"

namespace attn {

GenerateCommand::GenerateCommand(CLI::App& app) {
    app.add_option("-m,--model", model_dir_, "Hugging Face model folder (config.json, *.safetensors, tokenizer.json)");
    app.add_option("-p,--prompt", prompt_, "prompt text");
    app.add_option("-f,--file", prompt_file_, "read the prompt from a file");
    app.add_flag("--chat", chat_, "wrap the prompt in the model's chat format (ChatML, Llama 3, Llama 2)");
    app.add_flag("--no-bos", no_bos_, "do not add the tokenizer's special tokens (BOS) to the prompt");
    app.add_flag("--json", json_, "print one JSON object with the text and timings instead of streaming");
    app.add_flag("-v,--verbose", verbose_, "debug logging");
    settings_ = std::make_unique<Settings>(app, cli_setting_specs());
}

std::string GenerateCommand::read_prompt() const {
    if (!prompt_file_.empty()) return read_text_file(prompt_file_, "prompt file");
    return prompt_;
}

int GenerateCommand::run() {
    spdlog::set_level(verbose_ ? spdlog::level::debug : spdlog::level::info);
    Settings& s = *settings_;
    s.resolve();
    if (model_dir_.empty()) throw Error("no model: give a Hugging Face model folder with -m (see --help)");

    const LoadOptions load = load_options_from(s);
    if (load.context_size < 0) throw Error("-c/--ctx-size must be >= 0");
    spdlog::info("attention backend '{}' from {}", s.str("attn_backend"), s.get("attn_backend").source);

    GenerationOptions gen;
    gen.max_new_tokens = s.integer("n_predict");
    gen.prefill_chunk_tokens = s.integer("batch_size");
    if (gen.prefill_chunk_tokens <= 0) throw Error("-b/--batch-size must be positive");
    gen.sampling.seed = uint64_t(s.integer("sampling.seed"));
    gen.sampling.temperature = s.real("sampling.temperature");
    gen.sampling.top_k = s.integer("sampling.top_k");
    gen.sampling.top_p = s.real("sampling.top_p");
    gen.sampling.min_p = s.real("sampling.min_p");
    gen.sampling.repeat_penalty = s.real("sampling.repeat_penalty");
    gen.sampling.repeat_last_n = s.integer("sampling.repeat_last_n");

    std::string prompt = read_prompt();
    if (prompt.empty()) throw Error("no prompt: give text with -p or a file with -f");

    const auto load_start = std::chrono::steady_clock::now();
    const Tokenizer tokenizer = Tokenizer::load(model_dir_);
    auto model = load_model(model_dir_, load);
    const double load_ms =
        std::chrono::duration<double, std::milli>(std::chrono::steady_clock::now() - load_start).count();
    spdlog::info("{}", model->description());
    spdlog::info("loaded in {:.0f} ms", load_ms);

    if (chat_) prompt = format_chat_prompt(tokenizer.chat_template(), prompt);
    const std::vector<int32_t> prompt_ids = tokenizer.encode(prompt, !no_bos_);

    auto stream = [this](const std::string& piece) {
        if (json_) return;
        std::fwrite(piece.data(), 1, piece.size(), stdout);
        std::fflush(stdout);
    };
    const GenerationResult result = generate(*model, tokenizer, prompt_ids, gen, stream);
    if (!json_) {
        std::fputc('\n', stdout);
        std::fflush(stdout);
    }

    spdlog::info("prompt: {} tokens in {:.1f} ms ({:.1f} tokens/s)", result.prompt_ids.size(), result.prompt_ms,
                 result.prompt_tokens_per_s());
    spdlog::info("generation: {} tokens in {:.1f} ms ({:.1f} tokens/s), stopped by {}", result.generated_ids.size(),
                 result.generation_ms, result.generation_tokens_per_s(), result.stop_reason);
    if (json_) {
        nlohmann::json out = {
            {"text", result.text},
            {"prompt_tokens", result.prompt_ids.size()},
            {"generated_tokens", result.generated_ids.size()},
            {"generated_ids", result.generated_ids},
            {"stop_reason", result.stop_reason},
            {"load_ms", load_ms},
            {"prompt_ms", result.prompt_ms},
            {"generation_ms", result.generation_ms},
            {"prompt_tokens_per_s", result.prompt_tokens_per_s()},
            {"generation_tokens_per_s", result.generation_tokens_per_s()},
            {"model", model->description()},
            {"settings", s.to_json()},
        };
        std::cout << out.dump(2) << std::endl;
    }
    return 0;
}

}  // namespace attn
