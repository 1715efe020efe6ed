#include "src/cli/perplexity_command.h"

#include <algorithm>
#include <chrono>
#include <cmath>
#include <cstdio>
#include <iostream>

#include <nlohmann/json.hpp>
#include <spdlog/spdlog.h>

#include "src/cli/cli_text.h"
#include "src/cli/load_options.h"
#include "src/common/error.h"
#include "src/runtime/load_model.h"
#include "src/tokenizer/tokenizer.h"

namespace attn {
namespace {

// log-softmax of one row of logits, in double so that small KL values are not rounding noise.
void log_softmax(const float* logits, size_t count, std::vector<double>& out) {
    out.resize(count);
    double max_logit = logits[0];
    for (size_t i = 1; i < count; ++i) max_logit = std::max(max_logit, double(logits[i]));
    double sum = 0;
    for (size_t i = 0; i < count; ++i) sum += std::exp(double(logits[i]) - max_logit);
    const double log_sum = max_logit + std::log(sum);
    for (size_t i = 0; i < count; ++i) out[i] = logits[i] - log_sum;
}

size_t argmax(const std::vector<double>& values) {
    return size_t(std::max_element(values.begin(), values.end()) - values.begin());
}

// Running sums over the predicted positions of one tested cache.
struct Score {
    std::string kv_cache;
    double nll = 0, kl = 0;
    int agree = 0, positions = 0;

    double perplexity() const { return std::exp(nll / positions); }
};

struct Row {
    std::string backend, kv_cache;
    double perplexity, change_percent, mean_kl, top1_agree_percent, seconds;
};

}  // namespace

PerplexityCommand::PerplexityCommand(CLI::App& app)
    : MeasureCommand(app, "perplexity", "measure what a KV cache format costs: perplexity, KL, top-1 agreement",
                     "auto") {
    command_->add_option("-f,--file", text_file_, "text to teacher-force")->required();
    command_->add_option("--reference", reference_, "cache the others are compared against (default fp16)");
    command_->add_option("--max-tokens", max_tokens_, "use only the first N tokens of the text (0 = all)");
    add_settings();
}

int PerplexityCommand::run() {
    const Settings& s = resolve_settings();
    const Tokenizer tokenizer = Tokenizer::load(model_dir_);
    std::vector<int32_t> tokens = tokenizer.encode(read_text_file(text_file_, "text file"));
    if (max_tokens_ > 0 && int(tokens.size()) > max_tokens_) tokens.resize(max_tokens_);
    if (tokens.size() < 2) throw Error("perplexity: the text must hold at least two tokens");
    const int batch = s.integer("batch_size");
    if (batch <= 0) throw Error("-b/--batch-size must be positive");
    // Index 0 is the reference. Without --kv-cache, q8 and q4 are tested ("auto" would repeat the reference).
    std::vector<std::string> caches = split_list(s.str("kv_cache.dtype"));
    if (s.get("kv_cache.dtype").source == "default") caches = {"q8", "q4"};
    caches.insert(caches.begin(), reference_);
    spdlog::info("perplexity: {} tokens of {}, reference cache {}", tokens.size(), text_file_, reference_);

    std::vector<Row> rows;
    std::string device;
    for (const std::string& backend : backends()) {
        LoadOptions load = load_options_from(s);
        load.backend = parse_attention_backend(backend);
        load.context_size = int(tokens.size());
        load.batch_tokens = batch;

        // The models run in lockstep: each sees the same chunks in the same order.
        std::vector<std::unique_ptr<Model>> models;
        std::vector<Score> scores;
        std::vector<double> seconds;
        for (const std::string& name : caches) {
            load.kv_cache = parse_kv_cache_type(name);
            models.push_back(load_model(model_dir_, load));
            scores.push_back({name});
            seconds.push_back(0);
            spdlog::info("{}", models.back()->description());
        }
        device = models.front()->description();
        const size_t vocab = size_t(models.front()->config().vocab_size);

        std::vector<std::vector<float>> logits(models.size());
        std::vector<double> ref_logp, logp;
        for (size_t begin = 0; begin + 1 < tokens.size(); begin += batch) {
            const size_t end = std::min(tokens.size() - 1, begin + size_t(batch));  // the last token predicts nothing
            const std::vector<int32_t> chunk(tokens.begin() + begin, tokens.begin() + end);
            for (size_t m = 0; m < models.size(); ++m) {
                const auto start = std::chrono::steady_clock::now();
                models[m]->forward(chunk, true, logits[m]);
                seconds[m] += std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
            }
            for (size_t r = 0; r < chunk.size(); ++r) {
                const int32_t next = tokens[begin + r + 1];
                log_softmax(logits[0].data() + r * vocab, vocab, ref_logp);
                const size_t ref_top = argmax(ref_logp);
                for (size_t m = 0; m < models.size(); ++m) {
                    log_softmax(logits[m].data() + r * vocab, vocab, logp);
                    Score& score = scores[m];
                    score.nll -= logp[next];
                    for (size_t i = 0; i < vocab; ++i) score.kl += std::exp(ref_logp[i]) * (ref_logp[i] - logp[i]);
                    score.agree += argmax(logp) == ref_top;
                    ++score.positions;
                }
            }
        }
        const double ref_perplexity = scores[0].perplexity();
        for (size_t m = 0; m < scores.size(); ++m) {
            const Score& score = scores[m];
            rows.push_back({backend, m == 0 ? score.kv_cache + " (ref)" : score.kv_cache, score.perplexity(),
                            100.0 * (score.perplexity() / ref_perplexity - 1), score.kl / score.positions,
                            100.0 * score.agree / score.positions, seconds[m]});
        }
    }

    if (json_) {
        nlohmann::json out = nlohmann::json::array();
        for (const Row& row : rows)
            out.push_back({{"backend", row.backend}, {"kv_cache", row.kv_cache}, {"perplexity", row.perplexity},
                           {"change_percent", row.change_percent}, {"mean_kl", row.mean_kl},
                           {"top1_agree_percent", row.top1_agree_percent}, {"seconds", row.seconds},
                           {"tokens", tokens.size()}, {"device", device}});
        std::cout << out.dump(2) << std::endl;
        return 0;
    }
    std::printf("| backend | kv cache | perplexity | vs ref | mean KL | top-1 agree | time |\n");
    std::printf("|---|---|---|---|---|---|---|\n");
    for (const Row& row : rows)
        std::printf("| %s | %s | %.4f | %+.3f%% | %.2e | %.2f%% | %.1f s |\n", row.backend.c_str(), row.kv_cache.c_str(),
                    row.perplexity, row.change_percent, row.mean_kl, row.top1_agree_percent, row.seconds);
    std::printf("%zu tokens (%zu predicted); device: %s\n", tokens.size(), tokens.size() - 1, device.c_str());
    return 0;
}

}  // namespace attn
