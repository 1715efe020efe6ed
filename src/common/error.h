#pragma once
// Errors are values with a message: every failure a user can cause (bad file, bad flag, out of memory)
// becomes an attn::Error whose what() is one sentence that says what to do. The CLI prints it and exits 1.
#include <stdexcept>
#include <string>
#include <utility>

namespace attn {

class Error : public std::runtime_error {
public:
    explicit Error(const std::string& message) : std::runtime_error(message) {}
};

// Device memory ran out (or the --gpu-mem-limit cap did): the one error `attn-infer fit` reads as "this
// context does not fit" rather than as a failure. `resource` names what asked ("KV cache", "cuBLAS", ...).
class OutOfMemoryError : public Error {
public:
    OutOfMemoryError(std::string resource, const std::string& message)
        : Error(message), resource_(std::move(resource)) {}
    const std::string& resource() const { return resource_; }

private:
    std::string resource_;
};

// Invariant checks (programming errors, not user input).
#define ATTN_ASSERT(cond)                                                                            \
    do {                                                                                             \
        if (!(cond))                                                                                 \
            throw ::attn::Error(std::string("internal error: ") + #cond + " at " + __FILE__ + ":" + \
                                std::to_string(__LINE__));                                           \
    } while (0)

}  // namespace attn
