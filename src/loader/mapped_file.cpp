// Read-only mmap of a whole file: the weights stay in the page cache and are paged in on first touch,
// so opening a model costs no copy and no RAM beyond what the kernels actually read.
#include <fcntl.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>

#include "src/common/error.h"
#include "src/loader/safetensors.h"

namespace attn {

MappedFile::MappedFile(const std::filesystem::path& path) {
    const int fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC);
    if (fd < 0) throw Error("cannot open " + path.string() + ": " + std::strerror(errno));

    struct stat info {};
    if (::fstat(fd, &info) != 0) {
        const std::string reason = std::strerror(errno);
        ::close(fd);
        throw Error("cannot stat " + path.string() + ": " + reason);
    }
    if (!S_ISREG(info.st_mode)) {
        ::close(fd);
        throw Error("cannot map " + path.string() + ": it is not a regular file");
    }

    size_ = size_t(info.st_size);
    // mmap rejects a zero length; an empty file maps to nothing and the header check reports it.
    if (size_ > 0) {
        void* address = ::mmap(nullptr, size_, PROT_READ, MAP_PRIVATE, fd, 0);
        if (address == MAP_FAILED) {
            const std::string reason = std::strerror(errno);
            ::close(fd);
            throw Error("cannot map " + path.string() + " into memory: " + reason);
        }
        data_ = static_cast<const uint8_t*>(address);
    }
    // The mapping keeps its own reference to the file, so the descriptor is not needed any more.
    ::close(fd);
}

MappedFile::~MappedFile() {
    if (data_ != nullptr) ::munmap(const_cast<uint8_t*>(data_), size_);
}

}  // namespace attn
