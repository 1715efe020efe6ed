#pragma once
// The LoadOptions every command starts from: the resolved settings, one place for the mapping. Commands
// then override what they vary (bench: backend and context; perplexity: cache type and batch).
#include "src/cli/settings.h"
#include "src/runtime/load_model.h"

namespace attn {

LoadOptions load_options_from(const Settings& settings);

}  // namespace attn
