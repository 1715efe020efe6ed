#include "src/tokenizer/chat_format.h"

#include "src/common/error.h"

namespace attn {

std::string format_chat_prompt(const std::string& chat_template, const std::string& user_message) {
    if (chat_template.empty())
        throw Error("--chat: this model has no chat_template in tokenizer_config.json; use a plain prompt");
    if (chat_template.find("<|im_start|>") != std::string::npos)
        return "<|im_start|>user\n" + user_message + "<|im_end|>\n<|im_start|>assistant\n";
    if (chat_template.find("<|start_header_id|>") != std::string::npos)
        return "<|start_header_id|>user<|end_header_id|>\n\n" + user_message +
               "<|eot_id|><|start_header_id|>assistant<|end_header_id|>\n\n";
    if (chat_template.find("[INST]") != std::string::npos) return "[INST] " + user_message + " [/INST]";
    throw Error("--chat: the model's chat template is of an unrecognised format (supported: ChatML, Llama 3, "
                "Llama 2 [INST]); use a plain prompt");
}

}  // namespace attn
