// Times the GPU attention backends on prefill and decode shapes: CUDA events around each call, 3 warm-up
// runs, the median of 20; inputs uniform in [-1, 1) (never zeros, which make tensor cores look faster).
// Prefill reports TFLOP/s = 4*b*h*s^2*d (halved when causal); decode reports GB/s of K/V read.
// flash and xformers run in each kernel variant (ATTN_INFER_FORCE_KERNEL_PATH), sdp and naive as they are.
// tools/bench_attention.py prints the same table for torch SDPA's flash / efficient / math backends.
// Usage: attn_bench_attention [prefill|decode|long|kvcache|window]
//   long: 32k/128k decode; 32k prefill with and without a 4096-key sliding window.
//   kvcache [kv_len] [kv_heads]: split-K decode at 32k keys (or kv_len), 32 query heads over 8 kv heads (or
//     kv_heads), reading an fp16, q8 or q4 cache, contiguous and paged, timed in turns three ways (back to back
//     over copies of the cache as a decode graph runs a model's layers, queued one call at a time, host-synced
//     per call), with GB/s of cache bytes read and the speed-up over the fp16 cache.
//   window: the 32k prefill with and without the window, timed in turns, and the speed-up of the window.
#include <algorithm>
#include <cmath>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <functional>
#include <iterator>
#include <random>
#include <string>
#include <vector>

#include <cublas_v2.h>
#include <cuda_fp16.h>

#include "kernels/cpu/kv_quant.h"
#include "kernels/cuda/attention_dispatch.h"
#include "kernels/cuda/flash/attention_flash.h"
#include "kernels/cuda/xformers/attention_xformers.h"
#include "src/common/error.h"
#include "src/cuda/check.h"
#include "src/cuda/device_allocator.h"

using namespace attn;

namespace {

struct Shape {
    int batch, n_heads, n_kv_heads, q_len, kv_len, head_dim;
    bool causal;
    int window = 0;  // sliding window in keys, 0 = none
    bool decode() const { return q_len == 1; }
    bool long_context() const { return kv_len >= 32768; }
};

// Kept in step with SHAPES in tools/bench_attention.py.
const Shape kShapes[] = {
    {4, 32, 8, 1024, 1024, 128, true},  {4, 32, 8, 1024, 1024, 128, false}, {1, 32, 8, 4096, 4096, 128, true},
    {4, 32, 32, 1024, 1024, 64, true},  {2, 16, 16, 2048, 2048, 256, true}, {4, 32, 8, 1024, 1024, 80, true},
    {1, 32, 8, 1, 4096, 128, false},    {16, 32, 8, 1, 4096, 128, false},   {16, 32, 8, 1, 16384, 128, false},
    {64, 32, 32, 1, 2048, 128, false},  {1, 32, 32, 4096, 4096, 64, true},  {1, 32, 8, 16384, 16384, 128, true},
    // `long`: decode at 32k and 128k keys; 32k prefill, full causal against a 4096-key sliding window.
    {1, 32, 8, 1, 32768, 128, false},   {1, 32, 8, 1, 131072, 128, false},  {1, 32, 8, 32768, 32768, 128, true},
    {1, 32, 8, 32768, 32768, 128, true, 4096},
};

// Work actually required: with a window each query sees at most `window` keys.
double flops(const Shape& s) {
    const double full = 4.0 * s.batch * s.n_heads * double(s.q_len) * s.kv_len * s.head_dim;
    if (s.window > 0 && s.causal) {
        const double w = s.window, n = s.q_len;
        const double visible_pairs = n <= w ? n * (n + 1) / 2 : w * (w + 1) / 2 + (n - w) * w;
        return 4.0 * s.batch * s.n_heads * visible_pairs * s.head_dim;
    }
    return s.causal ? full / 2 : full;
}

double kv_bytes(const Shape& s) { return 2.0 * s.batch * s.kv_len * s.n_kv_heads * s.head_dim * sizeof(__half); }

std::string describe(const Shape& s) {
    char text[128];
    std::snprintf(text, sizeof text, "b%d h%d/%d q%d kv%d d%d%s%s", s.batch, s.n_heads, s.n_kv_heads, s.q_len, s.kv_len,
                  s.head_dim, s.causal ? " causal" : "", s.window ? (" w" + std::to_string(s.window)).c_str() : "");
    return text;
}

// A pool of random halves copied over the buffer: fast for gigabyte caches, and no element is zero.
void fill_random(cuda::DeviceBuffer<__half>& buffer, uint64_t seed) {
    static std::vector<__half> pool;
    if (pool.empty()) {
        pool.resize(size_t(1) << 22);
        uint64_t x = seed | 1;
        for (__half& h : pool) {
            x ^= x << 13, x ^= x >> 7, x ^= x << 17;
            const float u = float(x >> 40) / float(1 << 24) * 2.0f - 1.0f;
            h = __float2half(u == 0.0f ? 0.5f : u);
        }
    }
    const size_t offset = seed % 1024;
    for (size_t done = 0; done < buffer.size();) {
        const size_t n = std::min(pool.size() - offset, buffer.size() - done);
        CUDA_CHECK(cudaMemcpy(buffer.data() + done, pool.data() + offset, n * sizeof(__half), cudaMemcpyHostToDevice));
        done += n;
    }
}

struct Problem {
    cuda::AttentionParams params;
    cuda::KvCacheView kv;
    cuda::DeviceBuffer<__half> q, k, v, out;
    cuda::DeviceBuffer<int> q_offsets, kv_lens;
    std::vector<int> host_q_offsets, host_kv_lens;
};

// rows: whether the problem gets its own K/V rows (a problem whose cache is in blocks has no use for them).
Problem make_problem(const Shape& s, bool rows = true) {
    Problem p;
    p.host_q_offsets.resize(s.batch + 1);
    for (int b = 0; b <= s.batch; ++b) p.host_q_offsets[b] = b * s.q_len;
    p.host_kv_lens.assign(s.batch, s.kv_len);
    p.q_offsets = cuda::DeviceBuffer<int>(p.host_q_offsets.size(), "bench lengths");
    p.kv_lens = cuda::DeviceBuffer<int>(p.host_kv_lens.size(), "bench lengths");
    CUDA_CHECK(cudaMemcpy(p.q_offsets.data(), p.host_q_offsets.data(), p.q_offsets.bytes(), cudaMemcpyHostToDevice));
    CUDA_CHECK(cudaMemcpy(p.kv_lens.data(), p.host_kv_lens.data(), p.kv_lens.bytes(), cudaMemcpyHostToDevice));
    const size_t q_elems = size_t(s.batch) * s.q_len * s.n_heads * s.head_dim;
    const size_t kv_elems = size_t(s.batch) * s.kv_len * s.n_kv_heads * s.head_dim;
    p.q = cuda::DeviceBuffer<__half>(q_elems, "bench q");
    p.out = cuda::DeviceBuffer<__half>(q_elems, "bench out");
    fill_random(p.q, 1);
    if (rows) {
        p.k = cuda::DeviceBuffer<__half>(kv_elems, "bench k");
        p.v = cuda::DeviceBuffer<__half>(kv_elems, "bench v");
        fill_random(p.k, 2);
        fill_random(p.v, 3);
    }

    cuda::AttentionParams& a = p.params;
    a.batch = s.batch;
    a.n_heads = s.n_heads;
    a.n_kv_heads = s.n_kv_heads;
    a.head_dim = s.head_dim;
    a.scale = 1.0f / std::sqrt(float(s.head_dim));
    a.causal = s.causal;
    a.window = s.window;
    a.q_offsets = p.q_offsets.data();
    a.kv_lens = p.kv_lens.data();
    a.max_q_len = s.q_len;
    a.max_kv_len = s.kv_len;
    a.total_q = s.batch * s.q_len;
    a.h_q_offsets = p.host_q_offsets.data();
    a.h_kv_lens = p.host_kv_lens.data();
    p.kv = {p.k.data(), p.v.data(), int64_t(s.kv_len) * s.n_kv_heads * s.head_dim, int64_t(s.n_kv_heads) * s.head_dim};
    return p;
}

// Medians of 20 rounds in which every call runs once, after 3 warm-ups each; the calls take turns, so that
// clock and thermal drift during the runs weighs on each alike. Each call is timed between events on the
// stream around it. Synced (the default): the host waits for each call before launching the next, so the
// time includes the host's launch latency. Queued: a round's calls go back to back with no host sync between
// them, as the kernels of a captured decode graph run, so the time is the GPU's alone (a few microseconds
// less, which weigh on a 20-60 us decode); a queued round starts with an untimed call (the last), so that
// the first timed call finds its launch already queued too.
std::vector<double> median_ms(const std::vector<std::function<void()>>& calls, bool queued = false) {
    for (const auto& call : calls)
        for (int i = 0; i < 3; ++i) call();
    std::vector<cudaEvent_t> events(calls.size() + 1);
    for (cudaEvent_t& event : events) CUDA_CHECK(cudaEventCreate(&event));
    const auto elapsed_ms = [&](size_t c) {
        float ms = 0;
        CUDA_CHECK(cudaEventElapsedTime(&ms, events[c], events[c + 1]));
        return ms;
    };
    std::vector<std::vector<float>> times(calls.size());
    for (int i = 0; i < 20; ++i) {
        if (queued) calls.back()();
        for (size_t c = 0; c < calls.size(); ++c) {
            CUDA_CHECK(cudaEventRecord(events[c]));
            calls[c]();
            if (queued) continue;
            CUDA_CHECK(cudaEventRecord(events[c + 1]));
            CUDA_CHECK(cudaEventSynchronize(events[c + 1]));
            times[c].push_back(elapsed_ms(c));
        }
        if (!queued) continue;
        CUDA_CHECK(cudaEventRecord(events.back()));
        CUDA_CHECK(cudaEventSynchronize(events.back()));
        for (size_t c = 0; c < calls.size(); ++c) times[c].push_back(elapsed_ms(c));
    }
    for (cudaEvent_t& event : events) CUDA_CHECK(cudaEventDestroy(event));
    std::vector<double> medians;
    for (std::vector<float>& t : times) {
        std::sort(t.begin(), t.end());
        medians.push_back(t[t.size() / 2]);
    }
    return medians;
}

double time_ms(const std::function<void()>& call) { return median_ms({call})[0]; }

// ---- kvcache mode: the same decode problem, its K/V in the block formats of kernels/cpu/kv_quant.h -------

struct KvArrangement {
    const char* name;
    cpu::KvFormat format;
    int block_tokens;  // 0: contiguous
};

const KvArrangement kKvArrangements[] = {
    {"fp16", cpu::KvFormat::F16, 0},          {"fp16 paged 16", cpu::KvFormat::F16, 16},
    {"q8", cpu::KvFormat::Q8, 0},             {"q8 paged 32", cpu::KvFormat::Q8, 32},
    {"q4", cpu::KvFormat::Q4, 0},             {"q4 paged 64", cpu::KvFormat::Q4, 64},
};

// One sequence's cache, encoded on the CPU (kernels/cpu/kv_quant.h) from values uniform in [-1, 1); paged
// caches get their blocks in shuffled order, as a pool serving several sequences would hand them out.
struct EncodedKv {
    cpu::KvBlockLayout layout;
    std::vector<int32_t> table;
    std::vector<uint8_t> bytes;
    std::vector<float> pending;         // q4: the ring of the last group's keys
    std::vector<float> pending_values;  // ... and their values, rotated (attention.h)
    int n_blocks = 1;
};

EncodedKv encode_kv(const Shape& s, const KvArrangement& arrangement) {
    EncodedKv e;
    e.layout = {arrangement.format, s.n_kv_heads, s.head_dim, arrangement.block_tokens};
    const int group = cpu::kQ4KeyGroup;
    if (!e.layout.block_tokens) e.layout.block_tokens = cpu::contiguous_block_tokens(arrangement.format, s.kv_len);
    const int n_blocks = (s.kv_len + e.layout.block_tokens - 1) / e.layout.block_tokens;
    e.table.resize(n_blocks);
    for (int i = 0; i < n_blocks; ++i) e.table[i] = i;
    if (arrangement.block_tokens) std::shuffle(e.table.begin(), e.table.end(), std::mt19937(7));  // paged only
    e.n_blocks = n_blocks;
    const int64_t kv_dim = int64_t(s.n_kv_heads) * s.head_dim, block_bytes = e.layout.block_bytes();
    e.bytes.resize(size_t(n_blocks) * block_bytes);
    std::vector<float> key(kv_dim), value(kv_dim);
    std::mt19937 rng(11);
    std::uniform_real_distribution<float> uniform(-1.0f, 1.0f);
    e.pending.resize(e.layout.keys_by_channel() ? size_t(group) * kv_dim : 0);
    e.pending_values.resize(e.pending.size());
    for (int pos = 0; pos < s.kv_len; ++pos) {
        for (int64_t i = 0; i < kv_dim; ++i) key[i] = uniform(rng), value[i] = uniform(rng);
        cpu::store_kv_position(e.layout, e.bytes.data() + e.table[pos / e.layout.block_tokens] * block_bytes, pos,
                               key.data(), value.data(), e.pending.data(), e.pending_values.data());
    }
    if (!arrangement.block_tokens) e.table.clear();
    return e;
}

// An encoded cache in device memory, and the view of it.
struct KvBlocks {
    cuda::DeviceBuffer<uint8_t> blocks;
    cuda::DeviceBuffer<int32_t> table;
    cuda::DeviceBuffer<float> pending;
    cuda::DeviceBuffer<float> pending_values;
};

template <typename T>
cuda::DeviceBuffer<T> upload(const std::vector<T>& host, const char* what) {
    if (host.empty()) return {};
    cuda::DeviceBuffer<T> device(host.size(), what);
    CUDA_CHECK(cudaMemcpy(device.data(), host.data(), device.bytes(), cudaMemcpyHostToDevice));
    return device;
}

KvBlocks upload_kv(const EncodedKv& e, cuda::KvCacheView& kv) {
    KvBlocks out;
    out.blocks = upload(e.bytes, "bench kv blocks");
    out.table = upload(e.table, "bench block table");
    out.pending = upload(e.pending, "bench pending keys");
    out.pending_values = upload(e.pending_values, "bench pending values");
    kv = {};
    kv.blocks = out.blocks.data();
    kv.layout = e.layout;
    kv.block_stride_bytes = e.layout.block_bytes();
    kv.block_tables = e.table.empty() ? nullptr : out.table.data();
    kv.blocks_per_seq = e.n_blocks;
    kv.pending_keys = out.pending.data();
    kv.pending_values = out.pending_values.data();
    return out;
}

// Decode of one sequence over kv_len keys (32 query heads over kv_heads: 8 as Llama-3-8B), flash's split-K
// kernel, per cache arrangement, timed three ways, the arrangements in turns (median_ms):
// - back to back: kBackToBack calls between two events, each on its own copy of the cache (as many copies as
//   keep every call's cache out of L2: a 38 MB q4 cache fits the 50 MB L2 of an H100), as a decode graph
//   runs a model's layers, each reading its own cache once per token; the time per call;
// - queued: one call between events, the calls of a round back to back; the cache was last read a round
//   earlier, after the other arrangements' reads;
// - synced: the same, the host waiting for each call before launching the next.
constexpr int kBackToBack = 8;

void bench_kv_cache_decode(int kv_len, int kv_heads) {
    const Shape s{1, 32, kv_heads, 1, kv_len, 128, false};
    std::printf("%-16s %-30s %9s %12s %8s | %9s %8s | %9s %8s\n", "kv cache", "shape", "ms b2b", "rate", "vs fp16",
                "ms queued", "vs fp16", "ms synced", "vs fp16");
    struct Copy {
        Problem problem;
        KvBlocks blocks;
        cuda::DeviceBuffer<unsigned char> workspace;
    };
    constexpr double kOutOfL2Bytes = 128e6;  // what the other copies read between two calls on one copy
    std::vector<std::vector<Copy>> copies;
    std::vector<double> bytes;
    for (const KvArrangement& arrangement : kKvArrangements) {
        bytes.push_back(double(s.kv_len) *
                        cpu::kv_bytes_per_token_per_layer(arrangement.format, s.n_kv_heads, s.head_dim));
        const bool in_blocks = arrangement.format != cpu::KvFormat::F16 || arrangement.block_tokens;
        const EncodedKv encoded = in_blocks ? encode_kv(s, arrangement) : EncodedKv{};
        const int n_copies = std::max(2, int(std::ceil(kOutOfL2Bytes / bytes.back())));
        std::vector<Copy>& arrangement_copies = copies.emplace_back(n_copies);
        for (Copy& c : arrangement_copies) {
            c.problem = make_problem(s, !in_blocks);
            if (in_blocks) {
                c.blocks = upload_kv(encoded, c.problem.kv);
                c.problem.params.kv_in_blocks = true;
            }
            c.workspace = cuda::DeviceBuffer<unsigned char>(cuda::attention_flash_workspace_bytes(c.problem.params),
                                                             "bench workspace");
        }
    }
    const auto run = [](Copy& c) {
        cuda::attention_flash(c.problem.params, c.problem.q.data(), c.problem.kv, c.problem.out.data(),
                              {c.workspace.data(), c.workspace.bytes()}, nullptr);
    };
    std::vector<std::function<void()>> back_to_back, single;
    for (std::vector<Copy>& arrangement_copies : copies) {  // the vectors stop growing: the calls hold references
        back_to_back.push_back([&arrangement_copies, run] {
            for (int i = 0; i < kBackToBack; ++i) run(arrangement_copies[i % arrangement_copies.size()]);
        });
        single.push_back([&arrangement_copies, run] { run(arrangement_copies[0]); });
    }
    std::vector<double> streamed = median_ms(back_to_back, true);
    for (double& ms : streamed) ms /= kBackToBack;
    const std::vector<double> queued = median_ms(single, true), synced = median_ms(single);
    for (size_t i = 0; i < copies.size(); ++i)
        std::printf("%-16s %-30s %9.4f %7.1f GB/s %7.2fx | %9.4f %7.2fx | %9.4f %7.2fx\n", kKvArrangements[i].name,
                    describe(s).c_str(), streamed[i], bytes[i] / streamed[i] / 1e6, streamed[0] / streamed[i],
                    queued[i], queued[0] / queued[i], synced[i], synced[0] / synced[i]);
}

struct Contender {
    const char* backend;
    const char* variant;  // ATTN_INFER_FORCE_KERNEL_PATH, "" for the GPU's own
    AttentionBackend id;
};

const Contender kContenders[] = {
    {"flash", "", AttentionBackend::Flash},       {"flash", "sm75", AttentionBackend::Flash},
    {"flash", "simt", AttentionBackend::Flash},   {"xformers", "", AttentionBackend::Xformers},
    {"xformers", "sm75", AttentionBackend::Xformers}, {"xformers", "simt", AttentionBackend::Xformers},
    {"sdp", "", AttentionBackend::Sdp},           {"naive", "", AttentionBackend::Naive},
};

void run_contender(const Contender& c, Problem& p, const cuda::Workspace& workspace, cublasHandle_t cublas) {
    switch (c.id) {
        case AttentionBackend::Flash:
            return cuda::attention_flash(p.params, p.q.data(), p.kv, p.out.data(), workspace, nullptr);
        case AttentionBackend::Xformers:
            return cuda::attention_xformers(p.params, p.q.data(), p.kv, p.out.data(), workspace, nullptr);
        default:
            return cuda::run_attention(c.id, p.params, p.q.data(), p.kv, p.out.data(), workspace, cublas, nullptr);
    }
}

size_t workspace_bytes(const Contender& c, const cuda::AttentionParams& params) {
    switch (c.id) {
        case AttentionBackend::Flash: return cuda::attention_flash_workspace_bytes(params);
        case AttentionBackend::Xformers: return cuda::attention_xformers_workspace_bytes(params);
        default: return cuda::attention_workspace_bytes(c.id, params);
    }
}

}  // namespace

// ---- window mode: 32k causal prefill, full against a 4096-key window, the two timed in turns ------------

void bench_window_ratio(cublasHandle_t cublas) {
    const Shape& full = kShapes[std::size(kShapes) - 2];
    const Shape& windowed = kShapes[std::size(kShapes) - 1];
    Problem full_problem = make_problem(full), windowed_problem = make_problem(windowed);
    std::printf("%-10s %-34s %10s %10s %8s\n", "backend", "shape", "full ms", "window ms", "ratio");
    for (const Contender& c : kContenders) {
        if (*c.variant || (c.id != AttentionBackend::Flash && c.id != AttentionBackend::Xformers)) continue;
        cuda::DeviceBuffer<unsigned char> workspace(
            std::max(workspace_bytes(c, full_problem.params), workspace_bytes(c, windowed_problem.params)), "bench workspace");
        const cuda::Workspace w{workspace.data(), workspace.bytes()};
        const std::vector<double> ms = median_ms({[&] { run_contender(c, full_problem, w, cublas); },
                                                  [&] { run_contender(c, windowed_problem, w, cublas); }});
        std::printf("%-10s %-34s %10.3f %10.3f %7.2fx\n", c.backend, describe(windowed).c_str(), ms[0], ms[1],
                    ms[0] / ms[1]);
    }
}

int main(int argc, char** argv) {
    const std::string only = argc > 1 ? argv[1] : "";
    cublasHandle_t cublas;
    CUBLAS_CHECK(cublasCreate(&cublas));
    cudaDeviceProp prop;
    CUDA_CHECK(cudaGetDeviceProperties(&prop, 0));
    if (only == "kvcache") {
        std::printf("device: %s\n", prop.name);
        bench_kv_cache_decode(argc > 2 ? std::atoi(argv[2]) : 32768, argc > 3 ? std::atoi(argv[3]) : 8);
        cublasDestroy(cublas);
        return 0;
    }
    if (only == "window") {
        std::printf("device: %s\n", prop.name);
        bench_window_ratio(cublas);
        cublasDestroy(cublas);
        return 0;
    }
    std::printf("device: %s\n%-10s %-7s %-34s %10s %12s\n", prop.name, "backend", "variant", "shape", "ms", "rate");
    for (const Shape& s : kShapes) {
        // `long` selects the 32k/128k shapes; every other mode leaves them out.
        if ((only == "long") != s.long_context()) continue;
        if ((only == "prefill" && s.decode()) || (only == "decode" && !s.decode())) continue;
        Problem p = make_problem(s);
        for (const Contender& c : kContenders) {
            // naive is O(s^2) per thread block without tiling: minutes on long prefills.
            if (c.id == AttentionBackend::Naive && !s.decode() && s.q_len > 1024) continue;
            // At 32k the forced old-GPU paths and sdp's host loop cost minutes; the native kernels tell.
            if (s.long_context() && !s.decode() && (*c.variant || c.id == AttentionBackend::Sdp)) continue;
            if (*c.variant)
                setenv("ATTN_INFER_FORCE_KERNEL_PATH", c.variant, 1);
            else
                unsetenv("ATTN_INFER_FORCE_KERNEL_PATH");
            try {
                cuda::DeviceBuffer<unsigned char> workspace(workspace_bytes(c, p.params), "bench workspace");
                const double ms = time_ms([&] { run_contender(c, p, {workspace.data(), workspace.bytes()}, cublas); });
                const double rate = s.decode() ? kv_bytes(s) / ms / 1e6 : flops(s) / ms / 1e9;
                std::printf("%-10s %-7s %-34s %10.3f %8.1f %s\n", c.backend, *c.variant ? c.variant : "native",
                            describe(s).c_str(), ms, rate, s.decode() ? "GB/s" : "TFLOP/s");
            } catch (const Error& e) {
                std::printf("%-10s %-7s %-34s   skipped: %s\n", c.backend, *c.variant ? c.variant : "native",
                            describe(s).c_str(), e.what());
            }
            std::fflush(stdout);
        }
    }
    unsetenv("ATTN_INFER_FORCE_KERNEL_PATH");
    cublasDestroy(cublas);
    return 0;
}
