// Bad model folders must fail with an attn::Error that names the file and what is wrong with it.
#include <filesystem>
#include <fstream>
#include <string>

#include <unistd.h>

#include <catch2/catch.hpp>
#include <nlohmann/json.hpp>

#include "src/common/error.h"
#include "src/tokenizer/tokenizer.h"

namespace {

namespace fs = std::filesystem;
using nlohmann::json;

const fs::path kLlama3 = fs::path(ATTN_TEST_DATA_DIR) / "tokenizers" / "byte_level_llama3";

// A scratch copy of a golden model folder whose files a test may break.
class ScratchModel {
public:
    explicit ScratchModel(const std::string& name)
        : dir_(fs::temp_directory_path() / ("attn_tokenizer_" + name + "_" + std::to_string(::getpid()))) {
        fs::remove_all(dir_);
        fs::create_directories(dir_);
        for (const char* file : {"tokenizer.json", "tokenizer_config.json", "generation_config.json"})
            fs::copy_file(kLlama3 / file, dir_ / file);
    }
    ~ScratchModel() { fs::remove_all(dir_); }
    const fs::path& dir() const { return dir_; }

    void write(const std::string& file, const std::string& contents) const {
        std::ofstream(dir_ / file, std::ios::trunc) << contents;
    }
    json read(const std::string& file) const { return json::parse(std::ifstream(dir_ / file)); }

private:
    fs::path dir_;
};

std::string load_error(const fs::path& dir) {
    try {
        attn::Tokenizer::load(dir);
    } catch (const attn::Error& e) {
        return e.what();
    }
    return "(no error)";
}

}  // namespace

TEST_CASE("a folder without tokenizer.json is an error naming the file", "[tokenizer]") {
    const std::string message = load_error(fs::temp_directory_path() / "attn_no_such_model_dir");
    CHECK_THAT(message, Catch::Contains("attn_no_such_model_dir/tokenizer.json"));
    CHECK_THAT(message, Catch::Contains("cannot open"));
}

TEST_CASE("malformed JSON is an error naming the file", "[tokenizer]") {
    ScratchModel model("bad_json");
    SECTION("tokenizer.json") {
        model.write("tokenizer.json", "{\"model\": {\"type\": \"BPE\", ");
        const std::string message = load_error(model.dir());
        CHECK_THAT(message, Catch::Contains("tokenizer.json") && Catch::Contains("malformed JSON"));
    }
    SECTION("tokenizer_config.json") {
        model.write("tokenizer_config.json", "{bos_token: <s>}");
        const std::string message = load_error(model.dir());
        CHECK_THAT(message, Catch::Contains("tokenizer_config.json") && Catch::Contains("malformed JSON"));
    }
    SECTION("generation_config.json with a wrong type") {
        model.write("generation_config.json", "{\"eos_token_id\": \"two\"}");
        CHECK_THAT(load_error(model.dir()), Catch::Contains("generation_config.json"));
    }
    SECTION("tokenizer.json without a model") {
        json spec = model.read("tokenizer.json");
        spec.erase("model");
        model.write("tokenizer.json", spec.dump());
        CHECK_THAT(load_error(model.dir()), Catch::Contains("tokenizer.json") && Catch::Contains("model"));
    }
}

TEST_CASE("unsupported tokenizer components are errors naming the type", "[tokenizer]") {
    ScratchModel model("unsupported");
    json spec = model.read("tokenizer.json");
    std::string expected;
    SECTION("WordPiece model") {
        spec["model"]["type"] = "WordPiece";
        expected = "model type 'WordPiece' is not supported";
    }
    SECTION("Unigram model") {
        spec["model"] = {{"type", "Unigram"}, {"vocab", json::array({json::array({"<unk>", 0.0})})}};
        expected = "model type 'Unigram' is not supported";
    }
    SECTION("pre-tokenizer") {
        spec["pre_tokenizer"] = {{"type", "Whitespace"}};
        expected = "pre_tokenizer type 'Whitespace' is not supported";
    }
    SECTION("normalizer") {
        spec["normalizer"] = {{"type", "Lowercase"}};
        expected = "normalizer type 'Lowercase' is not supported";
    }
    SECTION("decoder") {
        spec["decoder"] = {{"type", "WordPiece"}, {"prefix", "##"}};
        expected = "decoder type 'WordPiece' is not supported";
    }
    SECTION("post-processor") {
        spec["post_processor"] = {{"type", "BertProcessing"}};
        expected = "post_processor type 'BertProcessing' is not supported";
    }
    SECTION("merge of tokens outside the vocabulary") {
        spec["model"]["merges"].push_back("notatoken alsonot");
        expected = "not in the vocabulary";
    }
    model.write("tokenizer.json", spec.dump());
    const std::string message = load_error(model.dir());
    CHECK_THAT(message, Catch::Contains("tokenizer.json: ") && Catch::Contains(expected));
}

TEST_CASE("configs are optional; without them there is no BOS, EOS or template", "[tokenizer]") {
    ScratchModel model("no_configs");
    fs::remove(model.dir() / "tokenizer_config.json");
    fs::remove(model.dir() / "generation_config.json");
    const attn::Tokenizer tokenizer = attn::Tokenizer::load(model.dir());
    CHECK_FALSE(tokenizer.bos_id().has_value());
    CHECK(tokenizer.eos_ids().empty());
    CHECK(tokenizer.chat_template().empty());
    // The post-processor in tokenizer.json still adds <|begin_of_text|>, as HF does.
    CHECK(tokenizer.encode("hi").size() == tokenizer.encode("hi", false).size() + 1);
}
