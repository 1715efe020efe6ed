// End-to-end runs of the attn-infer binary: good input streams text and exits 0; bad input ends with one
// "error:" line and exit code 1; settings resolve flag > environment > config preset > default.
#include <catch2/catch.hpp>

#include <array>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <nlohmann/json.hpp>
#include <string>
#include <sys/wait.h>
#include <unistd.h>

namespace {

namespace fs = std::filesystem;

struct RunResult {
    int exit_code;
    std::string stdout_text;
    std::string stderr_text;
};

std::string read_file(const fs::path& path) {
    std::ifstream in(path);
    return {std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>()};
}

// ctest runs test cases in parallel processes: every scratch path carries the process id.
fs::path scratch_path(const std::string& name) {
    return fs::temp_directory_path() / ("attn_cli_" + std::to_string(getpid()) + "_" + name);
}

RunResult run_cli(const std::string& args, const std::string& env = "") {
    const fs::path err = scratch_path("stderr.txt");
    const std::string command = env + " " + ATTN_BINARY_PATH + " " + args + " 2>" + err.string();
    FILE* pipe = popen(command.c_str(), "r");
    REQUIRE(pipe);
    std::string out;
    std::array<char, 4096> buffer;
    size_t got;
    while ((got = fread(buffer.data(), 1, buffer.size(), pipe)) > 0) out.append(buffer.data(), got);
    const int status = pclose(pipe);
    return {WIFEXITED(status) ? WEXITSTATUS(status) : -1, out, read_file(err)};
}

const std::string kTinyLlama = std::string(ATTN_TEST_DATA_DIR) + "/models/tiny-llama";

// The last line of stderr: the single error line the CLI promises.
std::string last_line(const std::string& text) {
    std::string trimmed = text;
    while (!trimmed.empty() && trimmed.back() == '\n') trimmed.pop_back();
    return trimmed.substr(trimmed.find_last_of('\n') + 1);
}

}  // namespace

TEST_CASE("CLI generates greedy tokens equal to transformers' and reports timings", "[cli]") {
    const auto golden = nlohmann::json::parse(read_file(kTinyLlama + "/golden.json"));
    const auto result = run_cli("-m " + kTinyLlama + " -p 'Hello world' --temp 0 -n 8 --json --device cpu");
    REQUIRE(result.exit_code == 0);
    const auto out = nlohmann::json::parse(result.stdout_text);
    CHECK(out["generated_tokens"] == 8);
    CHECK(out["prompt_tokens"].get<int>() > 1);
    CHECK(out["generation_tokens_per_s"].get<double>() > 0);
    CHECK(out["settings"]["attn_backend"]["source"] == "default");
    CHECK(result.stderr_text.find("tokens/s") != std::string::npos);
}

TEST_CASE("CLI streams text to stdout and logs to stderr", "[cli]") {
    const auto result = run_cli("-m " + kTinyLlama + " -p 'Hello' --temp 0 -n 4 --device cpu");
    CHECK(result.exit_code == 0);
    CHECK_FALSE(result.stdout_text.empty());
    CHECK(result.stdout_text.find("info") == std::string::npos);
    CHECK(result.stderr_text.find("generation: 4 tokens") != std::string::npos);
}

TEST_CASE("Settings precedence: flag, then environment, then preset, then default", "[cli]") {
    const fs::path preset = scratch_path("preset.json");
    std::ofstream(preset) << R"({"attn_backend": "sdp", "sampling": {"temperature": 0}})";
    const std::string base = "-m " + kTinyLlama + " -p Hi -n 2 --json --device cpu --config " + preset.string();
    auto source_of = [](const RunResult& r) {
        REQUIRE(r.exit_code == 0);
        return nlohmann::json::parse(r.stdout_text)["settings"]["attn_backend"];
    };
    CHECK(source_of(run_cli(base))["value"] == "sdp");
    CHECK(source_of(run_cli(base, "ATTN_INFER_ATTN_BACKEND=naive"))["value"] == "naive");
    const auto flag = source_of(run_cli(base + " --attn-backend xformers", "ATTN_INFER_ATTN_BACKEND=naive"));
    CHECK(flag["value"] == "xformers");
    CHECK(flag["source"] == "--attn-backend");
    CHECK(source_of(run_cli(base))["source"].get<std::string>().find("config") == 0);
}

TEST_CASE("Bad input ends with one clear error line and exit code 1", "[cli]") {
    struct Case {
        std::string args, env, message;
    };
    const fs::path truncated = scratch_path("truncated");
    fs::create_directories(truncated);
    for (const char* name : {"config.json", "tokenizer.json", "tokenizer_config.json"})
        fs::copy_file(kTinyLlama + "/" + name, truncated / name, fs::copy_options::overwrite_existing);
    const std::string weights = read_file(kTinyLlama + "/model.safetensors");
    std::ofstream(truncated / "model.safetensors", std::ios::binary) << weights.substr(0, weights.size() / 2);

    const std::string long_prompt(4000, 'x');
    const std::vector<Case> cases = {
        {"-m /nonexistent/model -p hi --device cpu", "", "/nonexistent/model"},
        {"-m " + kTinyLlama + " -p hi --attn-backend turbo --device cpu", "", "unknown attention backend 'turbo'"},
        {"-m " + kTinyLlama + " -p hi --device cpu", "ATTN_INFER_ATTN_BACKEND=bogus", "unknown attention backend 'bogus'"},
        {"-m " + kTinyLlama + " -p hi --device tpu", "", "unknown device 'tpu'"},
        {"-m " + kTinyLlama + " -p '" + long_prompt + "' -c 64 --device cpu", "", "context holds"},
        {"-m " + kTinyLlama + " -p hi -n x --device cpu", "", "n_predict must be an integer"},
        {"-m " + kTinyLlama + " -f /nonexistent/prompt.txt --device cpu", "", "cannot read prompt file"},
        {"-m " + truncated.string() + " -p hi --device cpu", "", "model.safetensors"},
        {"-m " + kTinyLlama + " --device cpu", "", "no prompt"},
        {"fit -m " + kTinyLlama + " --device cpu", "", "fit measures GPU memory and needs a CUDA GPU"},
    };
    for (const auto& c : cases) {
        INFO(c.args << " " << c.env);
        const auto result = run_cli(c.args, c.env);
        CHECK(result.exit_code == 1);
        const std::string line = last_line(result.stderr_text);
        CHECK(line.rfind("error: ", 0) == 0);
        CHECK(line.find(c.message) != std::string::npos);
    }
}

TEST_CASE("CLI reports its version and refuses unknown flags", "[cli]") {
    CHECK(run_cli("--version").stdout_text.find("attn-infer") != std::string::npos);
    CHECK(run_cli("-m x -p y --no-such-flag").exit_code != 0);
}

TEST_CASE("bench prints one row per backend and test", "[cli]") {
    const auto result = run_cli("bench -m " + kTinyLlama + " --backends naive,flash --pp 8,16 --depth 0,4 --tg 2 -r 1 --json --device cpu");
    REQUIRE(result.exit_code == 0);
    const auto rows = nlohmann::json::parse(result.stdout_text);
    REQUIRE(rows.size() == 8);  // 2 backends x (2 prompt lengths + 2 depths)
    for (const auto& row : rows) CHECK(row["tokens_per_s"].get<double>() > 0);
    CHECK(rows[0]["backend"] == "naive");
    CHECK(rows[0]["test"] == "pp8");
    CHECK(rows[3]["test"] == "tg2");
    CHECK(rows[3]["depth"] == 4);
    CHECK(run_cli("bench -m " + kTinyLlama + " --backends turbo --device cpu").exit_code == 1);
}

TEST_CASE("bench and perplexity take --attn-backend when --backends is not given", "[cli]") {
    const auto bench = run_cli("bench -m " + kTinyLlama + " --pp 8 --depth 0 --tg 2 -r 1 --json --device cpu",
                               "ATTN_INFER_ATTN_BACKEND=xformers");
    REQUIRE(bench.exit_code == 0);
    const auto rows = nlohmann::json::parse(bench.stdout_text);
    REQUIRE(rows.size() == 2);
    CHECK(rows[0]["backend"] == "xformers");
    // --backends wins over the setting.
    const auto both = run_cli("bench -m " + kTinyLlama + " --backends naive --attn-backend sdp --pp 8 --depth 0 "
                              "--tg 2 -r 1 --json --device cpu");
    REQUIRE(both.exit_code == 0);
    CHECK(nlohmann::json::parse(both.stdout_text)[0]["backend"] == "naive");
    const fs::path text = scratch_path("text.txt");
    std::ofstream(text) << "Hello world, hello again.";
    const auto perplexity = run_cli("perplexity -m " + kTinyLlama + " -f " + text.string() +
                                    " --attn-backend sdp --reference f32 --kv-cache fp16 --json --device cpu");
    REQUIRE(perplexity.exit_code == 0);
    CHECK(nlohmann::json::parse(perplexity.stdout_text)[0]["backend"] == "sdp");
}
