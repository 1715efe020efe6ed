#include "src/cli/measure_command.h"

#include "src/cli/cli_text.h"

namespace attn {

MeasureCommand::MeasureCommand(CLI::App& app, const std::string& name, const std::string& description,
                               std::string default_backends)
    : command_(app.add_subcommand(name, description)), backends_(std::move(default_backends)) {
    command_->add_option("-m,--model", model_dir_, "model folder")->required();
    backends_option_ = command_->add_option("--backends", backends_,
                                            "comma-separated attention backends (default " + backends_ + ")");
}

void MeasureCommand::add_settings() {
    command_->add_flag("--json", json_, "print JSON instead of a table");
    settings_ = std::make_unique<Settings>(*command_, cli_setting_specs());
}

Settings& MeasureCommand::resolve_settings() {
    settings_->resolve();
    return *settings_;
}

std::vector<std::string> MeasureCommand::backends() const {
    if (backends_option_->count() == 0 && settings_->get("attn_backend").source != "default")
        return split_list(settings_->str("attn_backend"));
    return split_list(backends_);
}

}  // namespace attn
