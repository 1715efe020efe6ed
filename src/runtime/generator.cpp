#include "src/runtime/generator.h"

#include <algorithm>
#include <chrono>

#include "src/common/error.h"

namespace attn {
namespace {

double elapsed_ms(std::chrono::steady_clock::time_point since) {
    return std::chrono::duration<double, std::milli>(std::chrono::steady_clock::now() - since).count();
}

}  // namespace

double GenerationResult::prompt_tokens_per_s() const {
    return prompt_ms > 0 ? prompt_ids.size() * 1000.0 / prompt_ms : 0;
}

double GenerationResult::generation_tokens_per_s() const {
    // The first generated token comes from the prefill's logits; the rest cost one forward each.
    const size_t decoded = generated_ids.empty() ? 0 : generated_ids.size() - 1;
    return generation_ms > 0 ? decoded * 1000.0 / generation_ms : 0;
}

GenerationResult generate(Model& model, const Tokenizer& tokenizer, const std::vector<int32_t>& prompt_ids,
                          const GenerationOptions& options, const std::function<void(const std::string&)>& on_text) {
    GenerationResult result;
    result.prompt_ids = prompt_ids;
    if (prompt_ids.empty()) throw Error("the prompt is empty: give text with -p or -f");
    const int room = model.context_size() - model.n_past();
    if (int(prompt_ids.size()) >= room)
        throw Error("the prompt has " + std::to_string(prompt_ids.size()) + " tokens but the context holds " +
                    std::to_string(room) + " (raise -c/--ctx-size or shorten the prompt)");

    Sampler sampler(options.sampling);
    StreamDecoder stream(tokenizer);
    std::vector<int32_t> history = prompt_ids;
    const auto& eos = tokenizer.eos_ids();

    // The prompt goes in chunks; the last chunk's forward also draws the first generated token.
    auto start = std::chrono::steady_clock::now();
    const size_t chunk = size_t(options.prefill_chunk_tokens);
    size_t begin = 0;
    std::vector<float> unused_logits;
    for (; begin + chunk < prompt_ids.size(); begin += chunk)
        model.forward({prompt_ids.begin() + begin, prompt_ids.begin() + begin + chunk}, false, unused_logits);
    int32_t next = model.forward_and_sample({prompt_ids.begin() + begin, prompt_ids.end()}, sampler, history);
    result.prompt_ms = elapsed_ms(start);

    start = std::chrono::steady_clock::now();
    result.stop_reason = "length";
    for (int i = 0; options.max_new_tokens < 0 || i < options.max_new_tokens; ++i) {
        if (std::find(eos.begin(), eos.end(), next) != eos.end()) {
            result.stop_reason = "eos";
            break;
        }
        result.generated_ids.push_back(next);
        history.push_back(next);
        const std::string piece = stream.push(next);
        result.text += piece;
        if (!piece.empty()) on_text(piece);
        if (model.n_past() >= model.context_size()) {
            result.stop_reason = "context";
            break;
        }
        if (options.max_new_tokens >= 0 && i + 1 == options.max_new_tokens) break;
        next = model.forward_and_sample({next}, sampler, history);
    }
    const std::string tail = stream.finish();
    result.text += tail;
    if (!tail.empty()) on_text(tail);
    result.generation_ms = elapsed_ms(start);
    return result;
}

}  // namespace attn
