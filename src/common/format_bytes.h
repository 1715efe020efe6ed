#pragma once
// Sizes for people: "768 B", "6.7 KiB", "27.4 MiB", "2.3 GiB" (binary units), in logs and error messages.
#include <string>

namespace attn {

std::string format_bytes(double bytes);

}  // namespace attn
