// The tokenizer against goldens made by HF `tokenizers` (tools/make_tokenizer_goldens.py): every flavour
// must give HF's ids and decoded text exactly, and streaming must add up to decode().
#include <algorithm>
#include <chrono>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <random>
#include <string>
#include <vector>

#include <catch2/catch.hpp>
#include <nlohmann/json.hpp>

#include "src/tokenizer/byte_level_alphabet.h"
#include "src/tokenizer/tokenizer.h"
#include "src/tokenizer/utf8.h"

namespace {

namespace fs = std::filesystem;
using nlohmann::json;

const fs::path kTokenizerData = fs::path(ATTN_TEST_DATA_DIR) / "tokenizers";
const std::vector<std::string> kFlavours = {"byte_level_llama3", "byte_level_qwen2", "byte_level_gpt2",
                                            "spm_llama2", "spm_metaspace"};

json read_json(const fs::path& path) {
    std::ifstream file(path);
    REQUIRE(file.good());
    return json::parse(file);
}

// The five trained flavours, and SmolLM2's real tokenizer when its goldens have been made.
std::vector<std::string> tokenizer_names() {
    std::vector<std::string> names = kFlavours;
    if (fs::exists(kTokenizerData / "smollm2" / "golden.json")) names.push_back("smollm2");
    return names;
}

std::string stream_decode(const attn::Tokenizer& tokenizer, const std::vector<int32_t>& ids, bool skip_special,
                          std::vector<std::string>* chunks = nullptr) {
    attn::StreamDecoder stream(tokenizer, skip_special);
    std::string text;
    for (int32_t id : ids) {
        const std::string chunk = stream.push(id);
        if (chunks) chunks->push_back(chunk);
        text += chunk;
    }
    const std::string rest = stream.finish();
    if (chunks) chunks->push_back(rest);
    return text + rest;
}

}  // namespace

TEST_CASE("encode and decode match HF tokenizers on every golden", "[tokenizer]") {
    for (const std::string& name : tokenizer_names()) {
        const attn::Tokenizer tokenizer = attn::Tokenizer::load(kTokenizerData / name);
        for (const json& golden : read_json(kTokenizerData / name / "golden.json")) {
            const std::string text = golden.at("text").get<std::string>();
            INFO(name << " text: " << json(text).dump());
            const auto ids = golden.at("ids").get<std::vector<int32_t>>();
            CHECK(tokenizer.encode(text) == ids);
            CHECK(tokenizer.encode(text, false) == golden.at("ids_no_special").get<std::vector<int32_t>>());
            CHECK(tokenizer.decode(ids) == golden.at("decoded").get<std::string>());
            CHECK(tokenizer.decode(ids, true) == golden.at("decoded_skip_special").get<std::string>());
        }
    }
}

TEST_CASE("special token ids and chat template match transformers", "[tokenizer]") {
    for (const std::string& name : tokenizer_names()) {
        INFO(name);
        const attn::Tokenizer tokenizer = attn::Tokenizer::load(kTokenizerData / name);
        const json meta = read_json(kTokenizerData / name / "meta.json");
        CHECK(tokenizer.vocab_size() == meta.at("vocab_size").get<int32_t>());
        if (meta.at("bos_id").is_null()) CHECK_FALSE(tokenizer.bos_id().has_value());
        else CHECK(tokenizer.bos_id() == meta.at("bos_id").get<int32_t>());
        CHECK(tokenizer.eos_ids() == meta.at("eos_ids").get<std::vector<int32_t>>());

        const auto special_ids = meta.at("special_ids").get<std::vector<int32_t>>();
        for (int32_t id = 0; id < tokenizer.vocab_size(); ++id) {
            const bool expected = std::find(special_ids.begin(), special_ids.end(), id) != special_ids.end();
            if (tokenizer.is_special(id) != expected) FAIL("is_special(" << id << ") should be " << expected);
        }
        const json config = read_json(kTokenizerData / name / "tokenizer_config.json");
        CHECK(tokenizer.chat_template() == config.at("chat_template").get<std::string>());
    }
}

TEST_CASE("stream decoding adds up to decode on every golden", "[tokenizer]") {
    for (const std::string& name : tokenizer_names()) {
        const attn::Tokenizer tokenizer = attn::Tokenizer::load(kTokenizerData / name);
        for (const json& golden : read_json(kTokenizerData / name / "golden.json")) {
            INFO(name << " text: " << golden.at("text").dump());
            const auto ids = golden.at("ids").get<std::vector<int32_t>>();
            for (bool skip_special : {false, true}) {
                std::vector<std::string> chunks;
                CHECK(stream_decode(tokenizer, ids, skip_special, &chunks) == tokenizer.decode(ids, skip_special));
                for (const std::string& chunk : chunks) CHECK(attn::tokenizer::is_valid_utf8(chunk));
            }
        }
    }
}

TEST_CASE("stream decoding holds back the bytes of a character split across tokens", "[tokenizer]") {
    // "a😀 b" with the emoji spelled one byte per token, so no prefix of it may be emitted early.
    const std::string emoji = "\xF0\x9F\x98\x80";
    for (const std::string& name : tokenizer_names()) {
        INFO(name);
        const attn::Tokenizer tokenizer = attn::Tokenizer::load(kTokenizerData / name);
        const json vocab = read_json(kTokenizerData / name / "tokenizer.json").at("model").at("vocab");
        const bool sentencepiece = name.rfind("spm_", 0) == 0;
        std::vector<int32_t> ids = tokenizer.encode("a", false);
        for (unsigned char byte : emoji) {
            // SentencePiece vocabularies spell a byte <0xNN>, byte-level ones as one character.
            char spm_name[8];
            std::snprintf(spm_name, sizeof(spm_name), "<0x%02X>", byte);
            ids.push_back(vocab.at(sentencepiece ? spm_name : attn::tokenizer::byte_level_chars()[byte]).get<int32_t>());
        }
        for (int32_t id : tokenizer.encode(" b", false)) ids.push_back(id);
        REQUIRE(tokenizer.decode(ids).find(emoji) != std::string::npos);

        for (bool skip_special : {false, true}) {
            std::vector<std::string> chunks;
            CHECK(stream_decode(tokenizer, ids, skip_special, &chunks) == tokenizer.decode(ids, skip_special));
            for (const std::string& chunk : chunks) CHECK(attn::tokenizer::is_valid_utf8(chunk));
        }
    }
}

TEST_CASE("stream decoding matches decode on random id sequences", "[tokenizer]") {
    // Random ids hit what generation can produce but goldens do not: stray continuation bytes, byte runs
    // broken by special tokens, "▁"-only tokens first, ids outside the vocabulary (decoded as nothing).
    std::mt19937 rng(1234);
    for (const std::string& name : tokenizer_names()) {
        const attn::Tokenizer tokenizer = attn::Tokenizer::load(kTokenizerData / name);
        std::uniform_int_distribution<int32_t> any_id(-1, tokenizer.vocab_size());
        for (int trial = 0; trial < 200; ++trial) {
            std::vector<int32_t> ids(1 + trial % 23);
            for (int32_t& id : ids) id = any_id(rng);
            for (bool skip_special : {false, true}) {
                INFO(name << " ids: " << json(ids).dump() << " skip_special: " << skip_special);
                CHECK(stream_decode(tokenizer, ids, skip_special) == tokenizer.decode(ids, skip_special));
            }
        }
    }
}

TEST_CASE("long inputs encode quickly and round-trip", "[tokenizer]") {
    const std::string paragraph =
        "Once upon a time, in 1969, there were 12 astronauts.\n\n    def main():\n\treturn 0  # done\n"
        "你好，世界！日本語のテキスト。 Emoji 😀👍🏽 and    spaces   I'm DON'T 3.14159\n";
    std::string text;
    while (text.size() < (1u << 20)) text += paragraph;
    for (const char* name : {"byte_level_llama3", "byte_level_gpt2", "spm_llama2", "spm_metaspace"}) {
        INFO(name);
        const attn::Tokenizer tokenizer = attn::Tokenizer::load(kTokenizerData / name);
        const auto start = std::chrono::steady_clock::now();
        const auto ids = tokenizer.encode(text, false);
        const double seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
        // Every flavour is lossless on text without added-token spellings or "▁".
        CHECK(tokenizer.decode(ids) == text);
        CHECK(ids.size() < text.size());
        CHECK(seconds < 5.0);
    }
}

TEST_CASE("bytes that are not UTF-8 are read as U+FFFD, one per maximal invalid subpart", "[tokenizer]") {
    // HF only takes valid text; we read other bytes as Rust's String::from_utf8_lossy would.
    const attn::Tokenizer tokenizer = attn::Tokenizer::load(kTokenizerData / "byte_level_llama3");
    const std::string replacement = "\xEF\xBF\xBD";
    CHECK(tokenizer.encode("a\xFF" "b") == tokenizer.encode("a" + replacement + "b"));
    // E2 82 is the start of a 3-byte character cut short: one U+FFFD, then 'x'.
    CHECK(tokenizer.encode("\xE2\x82x") == tokenizer.encode(replacement + "x"));
    CHECK(tokenizer.encode("\xC0\xAF") == tokenizer.encode(replacement + replacement));
}
