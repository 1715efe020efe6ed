#pragma once
// How attention sees one layer's keys and values for one sequence. The CPU cache keeps fp32 rows,
// position-major ([pos][kv_head][head_dim]); the paged and quantized layouts extend this view so that the
// attention code asks for rows, not for a particular memory layout.
#include <cstdint>

namespace attn {

struct KvView {
    const float* k = nullptr;
    const float* v = nullptr;
    int64_t token_stride = 0;  // floats between consecutive positions
    int head_dim = 0;
    int length = 0;  // positions held: 0 .. length-1

    const float* key(int pos, int kv_head) const { return k + pos * token_stride + int64_t(kv_head) * head_dim; }
    const float* value(int pos, int kv_head) const { return v + pos * token_stride + int64_t(kv_head) * head_dim; }
};

}  // namespace attn
