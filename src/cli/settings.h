#pragma once
// Every tunable of the CLI is one row of a table: its flag, its environment variable, its key in a JSON
// preset (--config) and its default. Resolution order: flag, then environment, then preset, then default;
// each value remembers where it came from so the log can say why a backend was chosen.
#include <map>
#include <string>
#include <vector>

#include <CLI/CLI.hpp>
#include <nlohmann/json.hpp>

namespace attn {

struct SettingSpec {
    std::string key;           // also the JSON pointer into a preset: "/kv_cache/dtype" for "kv_cache.dtype"
    std::string flags;         // CLI11 names, e.g. "-c,--ctx-size"
    std::string env;           // ATTN_INFER_...
    std::string default_value;
    std::string help;
};

struct ResolvedSetting {
    std::string value;
    std::string source;  // "--flag", "$ENV", "config FILE", "default"
};

class Settings {
public:
    // Registers one string option per spec on `app`.
    Settings(CLI::App& app, std::vector<SettingSpec> specs);
    // Call after app.parse(); reads the preset file (if the "config" setting is set) and resolves all rows.
    void resolve();

    const ResolvedSetting& get(const std::string& key) const;
    const std::string& str(const std::string& key) const { return get(key).value; }
    int integer(const std::string& key) const;
    float real(const std::string& key) const;
    bool flag(const std::string& key) const;
    nlohmann::json to_json() const;

private:
    std::vector<SettingSpec> specs_;
    std::map<std::string, std::string> raw_;
    std::map<std::string, CLI::Option*> options_;
    std::map<std::string, ResolvedSetting> resolved_;
};

std::vector<SettingSpec> cli_setting_specs();

}  // namespace attn
