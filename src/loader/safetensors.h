#pragma once
// safetensors reader: memory-maps each file (no copy of the weights into RAM) and validates the header
// before any tensor is touched. A model directory holds one `model.safetensors` or several shards listed
// by `model.safetensors.index.json`; TensorStore presents them as one name -> tensor map.
#include <cstdint>
#include <filesystem>
#include <map>
#include <memory>
#include <string>
#include <vector>

#include "src/loader/dtype.h"

namespace attn {

struct TensorInfo {
    std::string name;
    DType dtype;
    std::vector<int64_t> shape;
    const void* data = nullptr;  // points into the mapping; valid while the owning file lives
    size_t size_bytes = 0;
    std::string file;  // for error messages

    int64_t element_count() const;
};

// One read-only memory mapping of a whole file.
class MappedFile {
public:
    explicit MappedFile(const std::filesystem::path& path);  // throws attn::Error naming the path
    ~MappedFile();
    MappedFile(const MappedFile&) = delete;
    MappedFile& operator=(const MappedFile&) = delete;

    const uint8_t* data() const { return data_; }
    size_t size() const { return size_; }

private:
    const uint8_t* data_ = nullptr;
    size_t size_ = 0;
};

class SafetensorsFile {
public:
    // Throws attn::Error naming the file (and tensor) when the header lies: length past the end, bad JSON,
    // unknown dtype, byte range outside the data area, size != shape x dtype, overlapping tensors.
    explicit SafetensorsFile(const std::filesystem::path& path);

    const std::map<std::string, TensorInfo>& tensors() const { return tensors_; }

private:
    std::unique_ptr<MappedFile> mapping_;
    std::map<std::string, TensorInfo> tensors_;
};

class TensorStore {
public:
    // Opens `dir/model.safetensors`, or every shard named by `dir/model.safetensors.index.json`.
    static TensorStore open_dir(const std::filesystem::path& dir);

    const TensorInfo* find(const std::string& name) const;
    // Throws attn::Error when absent or when the shape differs from `expected_shape`.
    const TensorInfo& get(const std::string& name, const std::vector<int64_t>& expected_shape) const;
    std::vector<float> to_f32(const TensorInfo& tensor) const;
    size_t tensor_count() const { return tensors_.size(); }
    size_t total_bytes() const;

private:
    // Registers every tensor of `file`; a name already seen in another file is an error.
    void add_file(std::shared_ptr<SafetensorsFile> file);

    std::filesystem::path dir_;  // for error messages
    std::vector<std::shared_ptr<SafetensorsFile>> files_;
    std::map<std::string, const TensorInfo*> tensors_;
};

std::string shape_to_string(const std::vector<int64_t>& shape);

}  // namespace attn
