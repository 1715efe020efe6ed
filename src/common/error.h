#pragma once
// Errors are values with a message: every failure a user can cause (bad file, bad flag, out of memory)
// becomes an attn::Error whose what() is one sentence that says what to do. The CLI prints it and exits 1.
#include <stdexcept>
#include <string>

namespace attn {

class Error : public std::runtime_error {
public:
    explicit Error(const std::string& message) : std::runtime_error(message) {}
};

// Invariant checks (programming errors, not user input).
#define ATTN_ASSERT(cond)                                                                            \
    do {                                                                                             \
        if (!(cond))                                                                                 \
            throw ::attn::Error(std::string("internal error: ") + #cond + " at " + __FILE__ + ":" + \
                                std::to_string(__LINE__));                                           \
    } while (0)

}  // namespace attn
