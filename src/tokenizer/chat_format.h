#pragma once
// Wraps one user message in the model's chat format. We do not run Jinja: the template text tells which
// of the common formats the model was trained with (ChatML, Llama 3, Llama 2 [INST]).
#include <string>

namespace attn {

// Throws attn::Error when the template is empty or of a format we do not recognise.
std::string format_chat_prompt(const std::string& chat_template, const std::string& user_message);

}  // namespace attn
