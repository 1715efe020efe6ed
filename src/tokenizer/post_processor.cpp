#include "src/tokenizer/post_processor.h"

#include <string>

#include <nlohmann/json.hpp>

#include "src/common/error.h"

namespace attn::tokenizer {

namespace {

// The "single" template of TemplateProcessing: the sequence ($A) with special tokens around it.
class TemplateProcessor : public PostProcessor {
public:
    explicit TemplateProcessor(const nlohmann::json& spec) {
        const auto& special_tokens = spec.at("special_tokens");
        for (const auto& piece : spec.at("single")) {
            if (piece.contains("Sequence")) {
                Part part;
                part.is_sequence = true;
                parts_.push_back(part);
                continue;
            }
            const std::string name = piece.at("SpecialToken").at("id").get<std::string>();
            if (!special_tokens.contains(name))
                throw Error("TemplateProcessing uses special token '" + name + "' that its special_tokens lacks");
            parts_.push_back({false, special_tokens.at(name).at("ids").get<std::vector<int32_t>>()});
        }
    }
    std::vector<int32_t> add_special_tokens(std::vector<int32_t> ids) const override {
        std::vector<int32_t> out;
        out.reserve(ids.size() + parts_.size());
        for (const Part& part : parts_) {
            const std::vector<int32_t>& source = part.is_sequence ? ids : part.special_ids;
            out.insert(out.end(), source.begin(), source.end());
        }
        return out;
    }

private:
    struct Part {
        bool is_sequence = false;
        std::vector<int32_t> special_ids;
    };
    std::vector<Part> parts_;
};

// ByteLevel's post-processing only trims offsets, which we do not track.
class IdsUnchanged : public PostProcessor {
public:
    std::vector<int32_t> add_special_tokens(std::vector<int32_t> ids) const override { return ids; }
};

class SequenceProcessor : public PostProcessor {
public:
    explicit SequenceProcessor(std::vector<std::unique_ptr<PostProcessor>> steps) : steps_(std::move(steps)) {}
    std::vector<int32_t> add_special_tokens(std::vector<int32_t> ids) const override {
        for (const auto& step : steps_) ids = step->add_special_tokens(std::move(ids));
        return ids;
    }

private:
    std::vector<std::unique_ptr<PostProcessor>> steps_;
};

}  // namespace

std::unique_ptr<PostProcessor> make_post_processor(const nlohmann::json& spec) {
    if (spec.is_null()) return nullptr;
    const std::string type = spec.at("type").get<std::string>();
    if (type == "TemplateProcessing") return std::make_unique<TemplateProcessor>(spec);
    if (type == "ByteLevel") return std::make_unique<IdsUnchanged>();
    if (type == "Sequence") {
        std::vector<std::unique_ptr<PostProcessor>> steps;
        for (const auto& step : spec.at("processors"))
            if (auto processor = make_post_processor(step)) steps.push_back(std::move(processor));
        return std::make_unique<SequenceProcessor>(std::move(steps));
    }
    throw Error("post_processor type '" + type +
                "' is not supported (supported: TemplateProcessing, ByteLevel, Sequence)");
}

}  // namespace attn::tokenizer
