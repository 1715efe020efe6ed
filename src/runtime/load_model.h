#pragma once
// Picks the device (auto: the first CUDA GPU when this build has CUDA and one is present, else the CPU)
// and builds the model there.
#include <filesystem>
#include <memory>
#include <string>

#include "src/runtime/attention_backend.h"
#include "src/runtime/kv_cache.h"
#include "src/runtime/model.h"

namespace attn {

struct LoadOptions {
    std::string device = "auto";  // auto, cpu, cuda, cuda:N
    std::string dtype = "auto";   // GPU element type: auto, fp16, bf16 (src/cuda/gpu_dtype.h); the CPU runs fp32
    AttentionBackend backend = AttentionBackend::Auto;
    KvCacheType kv_cache = KvCacheType::Auto;
    bool kv_paged = false;
    int kv_block_tokens = 16;    // positions per block when paged
    int context_size = 4096;  // 0: the model's max_position_embeddings
    int threads = 0;
    int batch_tokens = 512;       // GPU activations are sized for this many prompt tokens per forward
    std::string gpu_mem_limit;    // e.g. "11GiB": cap on the device memory we take (emulates smaller cards)
    bool cuda_graphs = true;
    bool weight_values = true;  // GPU: false allocates the weights without reading them (fit's probes)
};

// Whether `device` ("auto", "cuda:1", ...) names a CUDA GPU here; throws attn::Error as load_model would.
bool device_is_cuda(const std::string& device);

std::unique_ptr<Model> load_model(const std::filesystem::path& model_dir, const LoadOptions& options);

}  // namespace attn
