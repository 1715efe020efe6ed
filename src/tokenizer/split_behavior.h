#pragma once
// HF's SplitDelimiterBehavior: what becomes of the matched delimiters when a piece is split.
#include <string>
#include <vector>

#include "src/tokenizer/regex.h"

namespace attn::tokenizer {

enum class SplitBehavior { Removed, Isolated, MergedWithPrevious, MergedWithNext, Contiguous };

// Throws attn::Error for a name that is not one of the five.
SplitBehavior parse_split_behavior(const std::string& name);

// The byte ranges a text of `text_bytes` bytes is cut into, given the delimiter `matches`
// (sorted, non-overlapping). `invert` swaps the roles of matches and the text between them.
// Ranges may be empty; callers drop those.
std::vector<ByteRange> split_ranges(size_t text_bytes, const std::vector<ByteRange>& matches,
                                    SplitBehavior behavior, bool invert);

}  // namespace attn::tokenizer
