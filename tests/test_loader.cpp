// safetensors loader: files are crafted byte by byte here, so each malformed header the loader must refuse
// is spelled out next to the message a user would read.
#include <unistd.h>

#include <catch2/catch.hpp>
#include <cmath>
#include <fstream>
#include <limits>
#include <nlohmann/json.hpp>

#include "src/common/error.h"
#include "src/loader/safetensors.h"

namespace fs = std::filesystem;
using Catch::Matchers::Contains;
using nlohmann::json;

namespace {

// A fresh directory under the system temp dir, removed with everything in it when the test ends.
class TempDir {
public:
    TempDir() {
        static int counter = 0;
        path_ = fs::temp_directory_path() /
                ("attn_loader_test_" + std::to_string(::getpid()) + "_" + std::to_string(counter++));
        fs::remove_all(path_);
        fs::create_directories(path_);
    }
    ~TempDir() { fs::remove_all(path_); }
    const fs::path& path() const { return path_; }
    fs::path operator/(const std::string& name) const { return path_ / name; }

private:
    fs::path path_;
};

using Bytes = std::vector<uint8_t>;

template <typename T>
Bytes to_bytes(const std::vector<T>& values) {
    Bytes bytes(values.size() * sizeof(T));
    std::memcpy(bytes.data(), values.data(), bytes.size());
    return bytes;
}

void write_file(const fs::path& path, const Bytes& bytes) {
    std::ofstream out(path, std::ios::binary);
    out.write(reinterpret_cast<const char*>(bytes.data()), std::streamsize(bytes.size()));
}

void write_json(const fs::path& path, const json& value) {
    const std::string text = value.dump();
    write_file(path, Bytes(text.begin(), text.end()));
}

// Length prefix (by default the true header length), header text, then the data area, as given.
void write_raw(const fs::path& path, const std::string& header, const Bytes& data,
               uint64_t header_length_field) {
    Bytes bytes;
    for (int i = 0; i < 8; ++i) bytes.push_back(uint8_t(header_length_field >> (8 * i)));
    bytes.insert(bytes.end(), header.begin(), header.end());
    bytes.insert(bytes.end(), data.begin(), data.end());
    write_file(path, bytes);
}

void write_raw(const fs::path& path, const std::string& header, const Bytes& data) {
    write_raw(path, header, data, header.size());
}

struct TensorSpec {
    std::string name;
    std::string dtype;
    std::vector<int64_t> shape;
    Bytes bytes;
};

// A well-formed file: tensors laid out back to back in the order given, plus a __metadata__ entry.
void write_safetensors(const fs::path& path, const std::vector<TensorSpec>& tensors) {
    json header = {{"__metadata__", {{"format", "pt"}}}};
    Bytes data;
    for (const TensorSpec& tensor : tensors) {
        header[tensor.name] = {{"dtype", tensor.dtype},
                               {"shape", tensor.shape},
                               {"data_offsets", {data.size(), data.size() + tensor.bytes.size()}}};
        data.insert(data.end(), tensor.bytes.begin(), tensor.bytes.end());
    }
    write_raw(path, header.dump(), data);
}

// The message of the attn::Error that opening `path` throws (any other exception fails the test too).
std::string open_error(const fs::path& path) {
    try {
        attn::SafetensorsFile file(path);
    } catch (const attn::Error& e) {
        return e.what();
    }
    FAIL("opening " << path << " did not throw");
    return "";
}

std::string open_dir_error(const fs::path& dir) {
    try {
        attn::TensorStore::open_dir(dir);
    } catch (const attn::Error& e) {
        return e.what();
    }
    FAIL("opening " << dir << " did not throw");
    return "";
}

// A header holding the single tensor 'x' described by `entry`.
std::string header_with_entry(const json& entry) {
    return json{{"x", entry}}.dump();
}

const std::vector<float> kF32Values = {1.5f, -2.25f, 0.0f, 1e-30f, -INFINITY, 3.0e38f};
// fp16: smallest and largest subnormal, 1, -2, largest finite, -0, +inf, -inf.
const std::vector<uint16_t> kF16Bits = {0x0001, 0x03ff, 0x3c00, 0xc000, 0x7bff, 0x8000, 0x7c00, 0xfc00};
const std::vector<float> kF16Values = {0x1p-24f, 0x3ffp-24f, 1.0f,      -2.0f,
                                       65504.0f, -0.0f,      INFINITY, -INFINITY};
// bf16: 1, -3, 3.140625, smallest subnormal, +inf, -0.
const std::vector<uint16_t> kBF16Bits = {0x3f80, 0xc040, 0x4049, 0x0001, 0x7f80, 0x8000};
const std::vector<float> kBF16Values = {1.0f, -3.0f, 3.140625f, 0x1p-133f, INFINITY, -0.0f};

// Exact comparison that also tells -0 from +0.
void check_same_floats(const std::vector<float>& actual, const std::vector<float>& expected) {
    REQUIRE(actual.size() == expected.size());
    for (size_t i = 0; i < actual.size(); ++i) {
        INFO("element " << i);
        CHECK(actual[i] == expected[i]);
        CHECK(std::signbit(actual[i]) == std::signbit(expected[i]));
    }
}

}  // namespace

TEST_CASE("single model.safetensors loads every dtype exactly", "[loader]") {
    TempDir dir;
    write_safetensors(dir / "model.safetensors", {{"w.f32", "F32", {2, 3}, to_bytes(kF32Values)},
                                                  {"w.f16", "F16", {8}, to_bytes(kF16Bits)},
                                                  {"w.bf16", "BF16", {3, 2}, to_bytes(kBF16Bits)},
                                                  {"empty", "F32", {0, 4}, {}}});
    const attn::TensorStore store = attn::TensorStore::open_dir(dir.path());

    CHECK(store.tensor_count() == 4);
    CHECK(store.total_bytes() == 24 + 16 + 12);
    CHECK(store.find("__metadata__") == nullptr);
    CHECK(store.find("absent") == nullptr);

    const attn::TensorInfo& f32 = store.get("w.f32", {2, 3});
    CHECK(f32.dtype == attn::DType::F32);
    CHECK(f32.element_count() == 6);
    CHECK(f32.size_bytes == 24);
    CHECK(f32.file == (dir / "model.safetensors").string());
    check_same_floats(store.to_f32(f32), kF32Values);

    const attn::TensorInfo& f16 = store.get("w.f16", {8});
    CHECK(f16.dtype == attn::DType::F16);
    check_same_floats(store.to_f32(f16), kF16Values);

    const attn::TensorInfo& bf16 = store.get("w.bf16", {3, 2});
    CHECK(bf16.dtype == attn::DType::BF16);
    check_same_floats(store.to_f32(bf16), kBF16Values);

    CHECK(store.to_f32(store.get("empty", {0, 4})).empty());
}

TEST_CASE("sharded model loads through model.safetensors.index.json", "[loader]") {
    TempDir dir;
    write_safetensors(dir / "model-00001-of-00002.safetensors",
                      {{"a", "F32", {6}, to_bytes(kF32Values)}, {"b", "F16", {2, 4}, to_bytes(kF16Bits)}});
    write_safetensors(dir / "model-00002-of-00002.safetensors", {{"c", "BF16", {6}, to_bytes(kBF16Bits)}});
    const json index = {{"metadata", {{"total_size", 52}}},
                        {"weight_map",
                         {{"a", "model-00001-of-00002.safetensors"},
                          {"b", "model-00001-of-00002.safetensors"},
                          {"c", "model-00002-of-00002.safetensors"}}}};
    write_json(dir / "model.safetensors.index.json", index);

    const attn::TensorStore store = attn::TensorStore::open_dir(dir.path());
    CHECK(store.tensor_count() == 3);
    CHECK(store.total_bytes() == 52);
    check_same_floats(store.to_f32(store.get("a", {6})), kF32Values);
    check_same_floats(store.to_f32(store.get("b", {2, 4})), kF16Values);
    check_same_floats(store.to_f32(store.get("c", {6})), kBF16Values);
    CHECK(store.get("c", {6}).file == (dir / "model-00002-of-00002.safetensors").string());
}

TEST_CASE("get names the tensor and both shapes, or the directory when the tensor is missing", "[loader]") {
    TempDir dir;
    write_safetensors(dir / "model.safetensors", {{"w", "F32", {2, 3}, to_bytes(kF32Values)}});
    const attn::TensorStore store = attn::TensorStore::open_dir(dir.path());

    CHECK_THROWS_WITH(store.get("w", {3, 2}),
                      Contains("'w'") && Contains("has shape [2, 3]") && Contains("expects [3, 2]"));
    CHECK_THROWS_WITH(store.get("nope", {1}), Contains("missing tensor 'nope' in " + dir.path().string()));
    CHECK_THROWS_AS(store.get("nope", {1}), attn::Error);
}

TEST_CASE("the file is too short or its header length lies", "[loader]") {
    TempDir dir;
    SECTION("shorter than the 8-byte length") {
        write_file(dir / "short.safetensors", {1, 2, 3, 4, 5});
        const std::string message = open_error(dir / "short.safetensors");
        CHECK_THAT(message, Contains("short.safetensors") && Contains("5 bytes, too short"));
    }
    SECTION("empty file") {
        write_file(dir / "empty.safetensors", {});
        CHECK_THAT(open_error(dir / "empty.safetensors"), Contains("empty.safetensors") && Contains("too short"));
    }
    SECTION("header length past the end of the file") {
        write_raw(dir / "cut.safetensors", "{}", {}, 1000);
        CHECK_THAT(open_error(dir / "cut.safetensors"),
                   Contains("cut.safetensors") && Contains("header length 1000 bytes runs past the end"));
    }
    SECTION("absurd header length") {
        write_raw(dir / "huge.safetensors", "{}", {}, uint64_t(1) << 62);
        CHECK_THAT(open_error(dir / "huge.safetensors"), Contains("huge.safetensors") && Contains("absurd"));
    }
}

TEST_CASE("the header is not a JSON object", "[loader]") {
    TempDir dir;
    write_raw(dir / "garbage.safetensors", "{\"x\": [1, 2", {});
    CHECK_THAT(open_error(dir / "garbage.safetensors"),
               Contains("garbage.safetensors") && Contains("header is not valid JSON"));

    write_raw(dir / "array.safetensors", "[1, 2]", {});
    CHECK_THAT(open_error(dir / "array.safetensors"),
               Contains("array.safetensors") && Contains("header is not a JSON object"));
}

TEST_CASE("a tensor entry lacks a field or has one of the wrong JSON type", "[loader]") {
    TempDir dir;
    const fs::path path = dir / "entry.safetensors";
    const json good = {{"dtype", "F32"}, {"shape", json::array({2})}, {"data_offsets", {0, 8}}};
    const auto expect_error = [&](const json& entry, const std::string& problem) {
        write_raw(path, header_with_entry(entry), Bytes(8));
        INFO("entry " << entry.dump());
        CHECK_THAT(open_error(path), Contains("entry.safetensors: tensor 'x'") && Contains(problem));
    };

    expect_error(5, "entry must be an object");
    for (const char* field : {"dtype", "shape", "data_offsets"}) {
        json entry = good;
        entry.erase(field);
        expect_error(entry, std::string("has no '") + field + "' field");
    }
    json entry = good;
    entry["dtype"] = 32;
    expect_error(entry, "dtype must be a string");

    for (const json& shape : {json("2"), json::array({2.5}), json::array({"2"}), json::array({json::array({2})})}) {
        entry = good;
        entry["shape"] = shape;
        expect_error(entry, "shape must be an array of non-negative integers");
    }
    for (const json& offsets : {json("0,8"), json::array({0}), json::array({0, 4, 8}), json::array({-1, 8}),
                                json::array({0.0, 8.0}), json::array({"0", "8"})}) {
        entry = good;
        entry["data_offsets"] = offsets;
        expect_error(entry, "data_offsets must be [begin, end] with two non-negative integers");
    }
}

TEST_CASE("a tensor entry has values the loader refuses", "[loader]") {
    TempDir dir;
    const fs::path path = dir / "values.safetensors";
    const auto expect_error = [&](const json& entry, size_t data_bytes, const std::string& problem) {
        write_raw(path, header_with_entry(entry), Bytes(data_bytes));
        INFO("entry " << entry.dump());
        CHECK_THAT(open_error(path), Contains("values.safetensors: tensor 'x'") && Contains(problem));
    };

    SECTION("unknown dtype lists the supported ones") {
        expect_error({{"dtype", "I8"}, {"shape", json::array({2})}, {"data_offsets", {0, 2}}}, 2,
                     "unsupported tensor dtype 'I8' (supported: F32, F16, BF16)");
    }
    SECTION("negative dimension") {
        expect_error({{"dtype", "F32"}, {"shape", {2, -1}}, {"data_offsets", {0, 8}}}, 8,
                     "shape [2,-1] has a negative dimension");
    }
    SECTION("shape whose byte size overflows 64 bits") {
        expect_error({{"dtype", "F32"}, {"shape", {int64_t(1) << 40, int64_t(1) << 40}}, {"data_offsets", {0, 8}}},
                     8, "is too large to be real");
    }
    SECTION("begin after end") {
        expect_error({{"dtype", "F32"}, {"shape", json::array({0})}, {"data_offsets", {8, 4}}}, 8,
                     "data_offsets [8, 4] have begin after end");
    }
    SECTION("end beyond the data area") {
        expect_error({{"dtype", "F32"}, {"shape", json::array({16})}, {"data_offsets", {0, 64}}}, 16,
                     "data_offsets [0, 64] end past the data area of 16 bytes");
    }
    SECTION("byte range disagrees with shape x dtype") {
        expect_error({{"dtype", "F32"}, {"shape", {2, 2}}, {"data_offsets", {0, 12}}}, 16,
                     "tensor 'x' data_offsets [0, 12] hold 12 bytes but shape [2, 2] of F32 needs 16");
    }
}

TEST_CASE("overlapping tensors are refused", "[loader]") {
    TempDir dir;
    const json header = {{"b", {{"dtype", "F32"}, {"shape", json::array({4})}, {"data_offsets", {8, 24}}}},
                         {"a", {{"dtype", "F32"}, {"shape", json::array({4})}, {"data_offsets", {0, 16}}}},
                         {"empty", {{"dtype", "F16"}, {"shape", json::array({0})}, {"data_offsets", {4, 4}}}}};
    write_raw(dir / "overlap.safetensors", header.dump(), Bytes(24));
    CHECK_THAT(open_error(dir / "overlap.safetensors"),
               Contains("overlap.safetensors: tensors 'a' [0, 16] and 'b' [8, 24] overlap"));
}

TEST_CASE("a directory without weights says what it expected", "[loader]") {
    TempDir dir;
    CHECK_THAT(open_dir_error(dir.path()), Contains(dir.path().string()) && Contains("model.safetensors") &&
                                               Contains("model.safetensors.index.json"));
    CHECK_THAT(open_dir_error(dir / "absent"), Contains("absent") && Contains("is not a directory"));
}

TEST_CASE("a shard index that disagrees with its shards is refused", "[loader]") {
    TempDir dir;
    write_safetensors(dir / "one.safetensors", {{"a", "F32", {6}, to_bytes(kF32Values)}});
    write_safetensors(dir / "two.safetensors", {{"a", "F32", {6}, to_bytes(kF32Values)},
                                                {"b", "BF16", {6}, to_bytes(kBF16Bits)}});
    const auto write_index = [&](const json& index) { write_json(dir / "model.safetensors.index.json", index); };
    const std::string index_name = "model.safetensors.index.json";

    SECTION("a listed tensor is not in its shard") {
        write_index({{"weight_map", {{"a", "one.safetensors"}, {"ghost", "one.safetensors"}}}});
        CHECK_THAT(open_dir_error(dir.path()), Contains(index_name) && Contains("tensor 'ghost'") &&
                                                   Contains("does not contain it"));
    }
    SECTION("a tensor is in two shards") {
        write_index({{"weight_map", {{"a", "one.safetensors"}, {"b", "two.safetensors"}}}});
        CHECK_THAT(open_dir_error(dir.path()), Contains("tensor 'a' is found in both") &&
                                                   Contains("one.safetensors") && Contains("two.safetensors"));
    }
    SECTION("a shard file is missing") {
        write_index({{"weight_map", {{"a", "three.safetensors"}}}});
        CHECK_THAT(open_dir_error(dir.path()), Contains("cannot open") && Contains("three.safetensors"));
    }
    SECTION("a shard is named by a path outside the directory") {
        write_index({{"weight_map", {{"a", "../one.safetensors"}}}});
        CHECK_THAT(open_dir_error(dir.path()), Contains(index_name) && Contains("not a file name"));
    }
    SECTION("a shard name is not a string") {
        write_index({{"weight_map", {{"a", 1}}}});
        CHECK_THAT(open_dir_error(dir.path()), Contains(index_name) && Contains("must map to a shard file name"));
    }
    SECTION("the index has no weight_map") {
        write_index({{"metadata", {}}});
        CHECK_THAT(open_dir_error(dir.path()), Contains(index_name) && Contains("\"weight_map\""));
    }
    SECTION("the index is not JSON") {
        write_file(dir / index_name, {'{', 'x'});
        CHECK_THAT(open_dir_error(dir.path()), Contains(index_name) && Contains("not valid JSON"));
    }
    SECTION("a malformed shard is reported by its own name") {
        write_file(dir / "bad.safetensors", {1, 2, 3});
        write_index({{"weight_map", {{"a", "one.safetensors"}, {"z", "bad.safetensors"}}}});
        CHECK_THAT(open_dir_error(dir.path()), Contains("bad.safetensors") && Contains("too short"));
    }
}
