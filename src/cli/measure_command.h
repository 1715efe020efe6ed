#pragma once
// What the subcommands that measure a model (bench, perplexity, fit) share: a subcommand with -m, a list of
// attention backends, --json and every setting of the CLI (flag, environment, preset, default).
#include <memory>
#include <string>
#include <vector>

#include <CLI/CLI.hpp>

#include "src/cli/settings.h"

namespace attn {

class MeasureCommand {
public:
    virtual ~MeasureCommand() = default;
    bool selected() const { return command_->parsed(); }
    virtual int run() = 0;

protected:
    // Adds the subcommand with -m,--model and --backends (default_backends when neither it nor
    // --attn-backend is given).
    MeasureCommand(CLI::App& app, const std::string& name, const std::string& description,
                   std::string default_backends);
    // Adds --json and the settings: the constructor's last call, so that help lists the command's own first.
    void add_settings();
    // Call first in run(): resolves the settings.
    Settings& resolve_settings();
    // --backends, else --attn-backend (flag, environment or preset) when given, else the default.
    std::vector<std::string> backends() const;

    CLI::App* command_;
    std::string model_dir_;
    bool json_ = false;

private:
    std::unique_ptr<Settings> settings_;
    std::string backends_;
    CLI::Option* backends_option_;
};

}  // namespace attn
