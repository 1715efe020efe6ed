#include "src/tokenizer/split_behavior.h"

#include <algorithm>

#include "src/common/error.h"

namespace attn::tokenizer {

namespace {

struct Part {
    ByteRange range;
    bool is_match;
};

}  // namespace

SplitBehavior parse_split_behavior(const std::string& name) {
    if (name == "Removed") return SplitBehavior::Removed;
    if (name == "Isolated") return SplitBehavior::Isolated;
    if (name == "MergedWithPrevious") return SplitBehavior::MergedWithPrevious;
    if (name == "MergedWithNext") return SplitBehavior::MergedWithNext;
    if (name == "Contiguous") return SplitBehavior::Contiguous;
    throw Error("split behavior '" + name +
                "' is not one of Removed, Isolated, MergedWithPrevious, MergedWithNext, Contiguous");
}

// Mirrors NormalizedString::split of HF tokenizers, fold for fold.
std::vector<ByteRange> split_ranges(size_t text_bytes, const std::vector<ByteRange>& matches,
                                    SplitBehavior behavior, bool invert) {
    std::vector<Part> parts;
    size_t previous_end = 0;
    for (const ByteRange& match : matches) {
        if (match.begin != previous_end) parts.push_back({{previous_end, match.begin}, false});
        parts.push_back({match, true});
        previous_end = match.end;
    }
    if (previous_end != text_bytes || parts.empty()) parts.push_back({{previous_end, text_bytes}, false});
    if (invert)
        for (Part& part : parts) part.is_match = !part.is_match;

    std::vector<ByteRange> out;
    bool previous_match = false;
    switch (behavior) {
        case SplitBehavior::Isolated:
            for (const Part& part : parts) out.push_back(part.range);
            break;
        case SplitBehavior::Removed:
            for (const Part& part : parts)
                if (!part.is_match) out.push_back(part.range);
            break;
        case SplitBehavior::MergedWithPrevious:
            for (const Part& part : parts) {
                if (part.is_match && !previous_match && !out.empty()) out.back().end = part.range.end;
                else out.push_back(part.range);
                previous_match = part.is_match;
            }
            break;
        case SplitBehavior::MergedWithNext:
            for (auto part = parts.rbegin(); part != parts.rend(); ++part) {
                if (part->is_match && !previous_match && !out.empty()) out.back().begin = part->range.begin;
                else out.push_back(part->range);
                previous_match = part->is_match;
            }
            std::reverse(out.begin(), out.end());
            break;
        case SplitBehavior::Contiguous:
            for (const Part& part : parts) {
                if (part.is_match == previous_match && !out.empty()) out.back().end = part.range.end;
                else out.push_back(part.range);
                previous_match = part.is_match;
            }
            break;
    }
    return out;
}

}  // namespace attn::tokenizer
