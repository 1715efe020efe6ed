// safetensors layout: an 8-byte little-endian header length N, N bytes of JSON mapping each tensor name to
// {dtype, shape, data_offsets: [begin, end]} (offsets relative to the data area that follows the header),
// then the data area. The header is untrusted input: every field is checked before a pointer is formed.
#include "src/loader/safetensors.h"

#include <algorithm>
#include <fstream>
#include <limits>
#include <sstream>

#include <nlohmann/json.hpp>

#include "src/common/error.h"

namespace attn {

namespace {

using nlohmann::json;

// The reference implementation refuses headers above 100 MB: a larger length means a corrupt file (or not
// a safetensors file at all), never a big model, and must not make us parse gigabytes of weights as JSON.
constexpr uint64_t kMaxHeaderBytes = 100ull << 20;
constexpr size_t kHeaderLengthBytes = 8;

std::string offsets_to_string(uint64_t begin, uint64_t end) {
    return "[" + std::to_string(begin) + ", " + std::to_string(end) + "]";
}

uint64_t read_header_length(const MappedFile& mapping, const std::string& file) {
    if (mapping.size() < kHeaderLengthBytes)
        throw Error(file + ": file is " + std::to_string(mapping.size()) +
                    " bytes, too short to hold the 8-byte header length; it is truncated or not safetensors");
    uint64_t length = 0;
    for (size_t i = 0; i < kHeaderLengthBytes; ++i) length |= uint64_t(mapping.data()[i]) << (8 * i);
    if (length > kMaxHeaderBytes)
        throw Error(file + ": header length " + std::to_string(length) +
                    " bytes is absurd (limit 100 MiB); the file is corrupt or not safetensors");
    if (length > mapping.size() - kHeaderLengthBytes)
        throw Error(file + ": header length " + std::to_string(length) + " bytes runs past the end of the " +
                    std::to_string(mapping.size()) + "-byte file; it is truncated");
    return length;
}

json parse_header(const MappedFile& mapping, uint64_t header_bytes, const std::string& file) {
    const char* text = reinterpret_cast<const char*>(mapping.data() + kHeaderLengthBytes);
    json header;
    try {
        header = json::parse(text, text + header_bytes);
    } catch (const json::parse_error& e) {
        throw Error(file + ": header is not valid JSON (" + e.what() + ")");
    }
    if (!header.is_object())
        throw Error(file + ": header is not a JSON object mapping tensor names to entries");
    return header;
}

const json& require_field(const json& entry, const char* field, const std::string& where) {
    const auto it = entry.find(field);
    if (it == entry.end()) throw Error(where + " has no '" + field + "' field");
    return *it;
}

DType parse_dtype(const json& entry, const std::string& where) {
    const json& dtype = require_field(entry, "dtype", where);
    if (!dtype.is_string()) throw Error(where + " dtype must be a string such as \"F16\", not " + dtype.dump());
    try {
        return parse_safetensors_dtype(dtype.get<std::string>());
    } catch (const Error& e) {
        throw Error(where + ": " + e.what());
    }
}

std::vector<int64_t> parse_shape(const json& entry, const std::string& where) {
    const json& shape = require_field(entry, "shape", where);
    const std::string must_be = " shape must be an array of non-negative integers, not ";
    if (!shape.is_array()) throw Error(where + must_be + shape.dump());
    std::vector<int64_t> dims;
    for (const json& dim : shape) {
        if (!dim.is_number_integer()) throw Error(where + must_be + shape.dump());
        // nlohmann stores non-negative literals as unsigned, negative ones as signed.
        if (!dim.is_number_unsigned()) throw Error(where + " shape " + shape.dump() + " has a negative dimension");
        if (dim.get<uint64_t>() > uint64_t(std::numeric_limits<int64_t>::max()))
            throw Error(where + " shape " + shape.dump() + " has a dimension too large to be real");
        dims.push_back(dim.get<int64_t>());
    }
    return dims;
}

// Returns [begin, end] from data_offsets, both relative to the start of the data area.
std::pair<uint64_t, uint64_t> parse_offsets(const json& entry, const std::string& where) {
    const json& offsets = require_field(entry, "data_offsets", where);
    if (!offsets.is_array() || offsets.size() != 2 || !offsets[0].is_number_unsigned() ||
        !offsets[1].is_number_unsigned())
        throw Error(where + " data_offsets must be [begin, end] with two non-negative integers, not " +
                    offsets.dump());
    const uint64_t begin = offsets[0].get<uint64_t>();
    const uint64_t end = offsets[1].get<uint64_t>();
    if (begin > end)
        throw Error(where + " data_offsets " + offsets_to_string(begin, end) + " have begin after end");
    return {begin, end};
}

// Checked product of the dimensions times the element size; throws when it cannot fit in 64 bits.
uint64_t required_bytes(const std::vector<int64_t>& shape, DType dtype, const std::string& where) {
    uint64_t bytes = dtype_size_bytes(dtype);
    for (const int64_t dim : shape)
        if (__builtin_mul_overflow(bytes, uint64_t(dim), &bytes))
            throw Error(where + " shape " + shape_to_string(shape) + " is too large to be real");
    return bytes;
}

TensorInfo parse_tensor(const std::string& file, const std::string& name, const json& entry,
                        const uint8_t* data_area, uint64_t data_area_bytes) {
    const std::string where = file + ": tensor '" + name + "'";
    if (!entry.is_object())
        throw Error(where + " entry must be an object with dtype, shape and data_offsets, not " + entry.dump());

    TensorInfo tensor;
    tensor.name = name;
    tensor.file = file;
    tensor.dtype = parse_dtype(entry, where);
    tensor.shape = parse_shape(entry, where);
    const auto [begin, end] = parse_offsets(entry, where);

    if (end > data_area_bytes)
        throw Error(where + " data_offsets " + offsets_to_string(begin, end) + " end past the data area of " +
                    std::to_string(data_area_bytes) + " bytes; the file is truncated or the header is wrong");
    const uint64_t needed = required_bytes(tensor.shape, tensor.dtype, where);
    if (end - begin != needed)
        throw Error(where + " data_offsets " + offsets_to_string(begin, end) + " hold " +
                    std::to_string(end - begin) + " bytes but shape " + shape_to_string(tensor.shape) + " of " +
                    dtype_name(tensor.dtype) + " needs " + std::to_string(needed));

    tensor.data = data_area + begin;
    tensor.size_bytes = size_t(needed);
    return tensor;
}

// Two tensors sharing bytes means the header is corrupt (writing one would silently change the other).
void check_no_overlap(const std::string& file, const std::map<std::string, TensorInfo>& tensors,
                      const uint8_t* data_area) {
    struct Range {
        uint64_t begin, end;
        const std::string* name;
    };
    std::vector<Range> ranges;
    for (const auto& [name, tensor] : tensors) {
        if (tensor.size_bytes == 0) continue;  // empty tensors own no bytes
        const uint64_t begin = uint64_t(static_cast<const uint8_t*>(tensor.data) - data_area);
        ranges.push_back({begin, begin + tensor.size_bytes, &name});
    }
    std::sort(ranges.begin(), ranges.end(), [](const Range& a, const Range& b) { return a.begin < b.begin; });
    for (size_t i = 1; i < ranges.size(); ++i) {
        const Range& before = ranges[i - 1];
        const Range& after = ranges[i];
        if (after.begin < before.end)
            throw Error(file + ": tensors '" + *before.name + "' " + offsets_to_string(before.begin, before.end) +
                        " and '" + *after.name + "' " + offsets_to_string(after.begin, after.end) +
                        " overlap; the header is corrupt");
    }
}

json read_index(const std::filesystem::path& path) {
    std::ifstream stream(path);
    if (!stream) throw Error("cannot open " + path.string());
    std::stringstream text;
    text << stream.rdbuf();
    json index;
    try {
        index = json::parse(text.str());
    } catch (const json::parse_error& e) {
        throw Error(path.string() + ": not valid JSON (" + e.what() + ")");
    }
    const auto weight_map = index.is_object() ? index.find("weight_map") : index.end();
    if (weight_map == index.end() || !weight_map->is_object() || weight_map->empty())
        throw Error(path.string() + ": expected an object with a non-empty \"weight_map\" of tensor -> shard file");
    return *weight_map;
}

}  // namespace

int64_t TensorInfo::element_count() const {
    int64_t count = 1;
    for (const int64_t dim : shape) count *= dim;
    return count;
}

std::string shape_to_string(const std::vector<int64_t>& shape) {
    std::string text = "[";
    for (size_t i = 0; i < shape.size(); ++i) text += (i ? ", " : "") + std::to_string(shape[i]);
    return text + "]";
}

SafetensorsFile::SafetensorsFile(const std::filesystem::path& path)
    : mapping_(std::make_unique<MappedFile>(path)) {
    const std::string file = path.string();
    const uint64_t header_bytes = read_header_length(*mapping_, file);
    const json header = parse_header(*mapping_, header_bytes, file);

    const uint8_t* data_area = mapping_->data() + kHeaderLengthBytes + header_bytes;
    const uint64_t data_area_bytes = mapping_->size() - kHeaderLengthBytes - header_bytes;
    for (const auto& [name, entry] : header.items()) {
        if (name == "__metadata__") continue;  // free-form string map (format, framework); nothing to load
        tensors_.emplace(name, parse_tensor(file, name, entry, data_area, data_area_bytes));
    }
    check_no_overlap(file, tensors_, data_area);
}

TensorStore TensorStore::open_dir(const std::filesystem::path& dir) {
    if (!std::filesystem::is_directory(dir))
        throw Error(dir.string() + " is not a directory; pass the model directory that holds model.safetensors");
    TensorStore store;
    store.dir_ = dir;

    const auto single = dir / "model.safetensors";
    const auto index_path = dir / "model.safetensors.index.json";
    if (std::filesystem::exists(single)) {
        store.add_file(std::make_shared<SafetensorsFile>(single));
        return store;
    }
    if (!std::filesystem::exists(index_path))
        throw Error("no safetensors weights in " + dir.string() +
                    ": expected model.safetensors or model.safetensors.index.json");

    const json weight_map = read_index(index_path);
    std::map<std::string, std::shared_ptr<SafetensorsFile>> shards;  // each shard is mapped once
    for (const auto& [tensor, shard] : weight_map.items()) {
        const std::string where = index_path.string() + ": tensor '" + tensor + "'";
        if (!shard.is_string()) throw Error(where + " must map to a shard file name, not " + shard.dump());
        const std::string shard_name = shard.get<std::string>();
        // A shard is a sibling file: a path here would let a downloaded index read anywhere on disk.
        if (shard_name.empty() || std::filesystem::path(shard_name).filename() != shard_name ||
            shard_name == "." || shard_name == "..")
            throw Error(where + " names shard '" + shard_name + "', which is not a file name in " + dir.string());

        auto& file = shards[shard_name];
        if (!file) file = std::make_shared<SafetensorsFile>(dir / shard_name);
        if (file->tensors().count(tensor) == 0)
            throw Error(where + " is listed in shard '" + shard_name + "' but that file does not contain it");
    }
    for (auto& [name, file] : shards) store.add_file(file);
    return store;
}

void TensorStore::add_file(std::shared_ptr<SafetensorsFile> file) {
    for (const auto& [name, tensor] : file->tensors()) {
        const auto [it, inserted] = tensors_.emplace(name, &tensor);
        if (!inserted)
            throw Error("tensor '" + name + "' is found in both " + it->second->file + " and " + tensor.file +
                        "; each tensor must live in exactly one shard");
    }
    files_.push_back(std::move(file));
}

const TensorInfo* TensorStore::find(const std::string& name) const {
    const auto it = tensors_.find(name);
    return it == tensors_.end() ? nullptr : it->second;
}

const TensorInfo& TensorStore::get(const std::string& name, const std::vector<int64_t>& expected_shape) const {
    const TensorInfo* tensor = find(name);
    if (tensor == nullptr) throw Error("missing tensor '" + name + "' in " + dir_.string());
    if (tensor->shape != expected_shape)
        throw Error("tensor '" + name + "' in " + tensor->file + " has shape " + shape_to_string(tensor->shape) +
                    " but the model expects " + shape_to_string(expected_shape));
    return *tensor;
}

std::vector<float> TensorStore::to_f32(const TensorInfo& tensor) const {
    std::vector<float> values(size_t(tensor.element_count()));
    convert_to_f32(tensor.dtype, tensor.data, values.data(), values.size());
    return values;
}

size_t TensorStore::total_bytes() const {
    size_t bytes = 0;
    for (const auto& [name, tensor] : tensors_) bytes += tensor->size_bytes;
    return bytes;
}

}  // namespace attn
