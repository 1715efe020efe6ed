#include "src/cli/fit_command.h"

#include <cstdio>
#include <iostream>

#include <nlohmann/json.hpp>
#include <spdlog/spdlog.h>

#include "src/cli/cli_text.h"
#include "src/cli/load_options.h"
#include "src/common/error.h"
#include "src/common/format_bytes.h"
#include "src/model/config.h"
#include "src/runtime/context_fit.h"

namespace attn {
namespace {

struct Row {
    std::string backend, kv_cache;
    ContextFit fit;
    std::string refused;  // the error of a combination that cannot run at all (a head size, a block size)
};

std::string context_cell(const ContextFit& fit) {
    return fit.context == 0 ? "none" : std::to_string(fit.context) + (fit.reached_upper ? "+" : "");
}

std::string rate_cell(const ContextFit& fit, double tokens_per_s) {
    if (!fit.check_error.empty()) return "ran out";
    if (!fit.checked || tokens_per_s == 0) return "-";
    char text[32];
    std::snprintf(text, sizeof text, "%.1f", tokens_per_s);
    return text;
}

std::string bytes_cell(size_t bytes, bool known) {
    return known ? format_bytes(double(bytes)) : "-";
}

nlohmann::json to_json(const Row& row) {
    const ContextFit& f = row.fit;
    nlohmann::json out = {{"backend", row.backend}, {"kv_cache", row.kv_cache}};
    if (!row.refused.empty()) {
        out["refused"] = row.refused;
        return out;
    }
    out.update({{"context", f.context}, {"reached_upper", f.reached_upper}, {"limit", f.limit},
                {"limit_message", f.limit_message}, {"kv_cache_bytes", f.kv_cache_bytes},
                {"held_bytes", f.held_bytes}, {"checked", f.checked}});
    if (f.checked)
        out.update({{"peak_bytes", f.peak_bytes}, {"card_used_bytes", f.card_used_bytes},
                    {"prefill_tokens_per_s", f.prefill_tokens_per_s}, {"decode_tokens_per_s", f.decode_tokens_per_s}});
    if (!f.check_error.empty()) out["check_error"] = f.check_error;
    return out;
}

}  // namespace

FitCommand::FitCommand(CLI::App& app)
    : MeasureCommand(app, "fit", "measure the longest context that fits GPU memory, per backend and KV cache",
                     "flash,xformers,sdp,naive") {
    command_->add_option("--max-ctx", max_context_,
                         "longest context to try (default 0: the model's max_position_embeddings)");
    command_->add_option("--step", step_, "contexts below --max-ctx are tried in multiples of this (default 256)");
    command_->add_flag("--no-check", no_check_, "only build at the length found; skip the run at it");
    add_settings();
}

int FitCommand::run() {
    const Settings& s = resolve_settings();
    std::vector<std::string> caches = split_list(s.str("kv_cache.dtype"));
    if (s.get("kv_cache.dtype").source == "default") caches = {"fp16", "q8", "q4"};
    LoadOptions load = load_options_from(s);
    require_cuda_device(load.device);  // else every row would be refused alike
    const int upper = max_context_ > 0 ? max_context_ : ModelConfig::load(model_dir_).max_position_embeddings;

    std::vector<Row> rows;
    for (const std::string& backend : backends()) {
        for (const std::string& cache : caches) {
            load.backend = parse_attention_backend(backend);
            load.kv_cache = parse_kv_cache_type(cache);
            Row row{backend, cache, {}, {}};
            try {
                row.fit = fit_context(model_dir_, load, upper, step_, !no_check_);
            } catch (const Error& e) {
                row.refused = e.what();
            }
            spdlog::info("fit: {} {}: {}", backend, cache,
                         row.refused.empty() ? context_cell(row.fit) + " tokens" : "refused: " + row.refused);
            rows.push_back(row);
        }
    }

    if (json_) {
        nlohmann::json out = nlohmann::json::array();
        for (const Row& row : rows) out.push_back(to_json(row));
        std::cout << out.dump(2) << std::endl;
        return 0;
    }
    std::printf("| backend | kv cache | longest context | kv cache | held | run: peak held | run: card used "
                "| prefill tokens/s | decode tokens/s | refused one step on |\n");
    std::printf("|---|---|---|---|---|---|---|---|---|---|\n");
    for (const Row& row : rows) {
        const ContextFit& f = row.fit;
        if (!row.refused.empty()) {
            std::printf("| %s | %s | refused: %s | | | | | | | |\n", row.backend.c_str(), row.kv_cache.c_str(),
                        row.refused.c_str());
            continue;
        }
        std::printf("| %s | %s | %s | %s | %s | %s | %s | %s | %s | %s |\n", row.backend.c_str(), row.kv_cache.c_str(),
                    context_cell(f).c_str(), bytes_cell(f.kv_cache_bytes, f.context > 0).c_str(),
                    bytes_cell(f.held_bytes, f.context > 0).c_str(), bytes_cell(f.peak_bytes, f.checked).c_str(),
                    bytes_cell(f.card_used_bytes, f.checked).c_str(), rate_cell(f, f.prefill_tokens_per_s).c_str(),
                    rate_cell(f, f.decode_tokens_per_s).c_str(), f.reached_upper ? "-" : f.limit.c_str());
    }
    const std::string& limit = s.str("gpu_mem_limit");
    std::printf("memory: %s; contexts tried up to %d in steps of %d (+: the upper bound fits, memory allows more)\n",
                limit.empty() ? "what the card had free" : ("--gpu-mem-limit " + limit).c_str(), upper, step_);
    std::printf("held: our allocations (weights, kv cache, activations, attention workspace); card used: what the "
                "card gave during the run (cuBLAS and graphs too, the CUDA context aside)\n");
    return 0;
}

}  // namespace attn
