#pragma once
// The head sizes the flash and xformers kernels are compiled for. Each size is one template instantiation;
// adding one is a line here and a tiny instantiation file, not a copied kernel.
#include <string>
#include <type_traits>

#include "src/common/error.h"

namespace attn::cuda {

inline bool is_built_head_dim(int head_dim) {
    return head_dim == 64 || head_dim == 80 || head_dim == 96 || head_dim == 128 || head_dim == 256;
}

// Calls body(std::integral_constant<int, D>{}) for the built head size D == head_dim.
template <typename Body>
void dispatch_head_dim(int head_dim, const char* backend, Body&& body) {
    switch (head_dim) {
        case 64: body(std::integral_constant<int, 64>{}); return;
        case 80: body(std::integral_constant<int, 80>{}); return;
        case 96: body(std::integral_constant<int, 96>{}); return;
        case 128: body(std::integral_constant<int, 128>{}); return;
        case 256: body(std::integral_constant<int, 256>{}); return;
    }
    throw Error("head_dim " + std::to_string(head_dim) + " is not built for " + backend + "; use --attn-backend sdp or naive");
}

}  // namespace attn::cuda
