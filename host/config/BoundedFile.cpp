// BoundedFile.cpp — open without blocking, insist on a regular file, read at
// most cap + 1 bytes: a file that grows past the cap while being read is
// refused like one that was too big from the start.
#include "config/BoundedFile.h"
#include "config/UniqueFd.h"

#include <algorithm>
#include <cerrno>
#include <cstdint>
#include <cstring>

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

namespace portico::host {
namespace {

const char *kind_of(mode_t mode) {
    if (S_ISDIR(mode)) return "a directory";
    if (S_ISFIFO(mode)) return "a FIFO (named pipe)";
    if (S_ISCHR(mode)) return "a character device";
    if (S_ISBLK(mode)) return "a block device";
    if (S_ISSOCK(mode)) return "a socket";
    return "not a regular file";
}

} // namespace

std::string describe_cap(std::size_t cap) {
    if (cap >= (std::size_t{1} << 20) && cap % (std::size_t{1} << 20) == 0) return std::to_string(cap >> 20) + " MiB";
    if (cap >= 1024 && cap % 1024 == 0) return std::to_string(cap >> 10) + " KiB";
    return std::to_string(cap) + " bytes";
}

std::string read_config_named_file(const std::filesystem::path &path, std::size_t cap, const std::string &what) {
    const std::string where = what + " " + path.string() + ": ";
    const UniqueFd fd(::open(path.c_str(), O_RDONLY | O_NONBLOCK | O_CLOEXEC | O_NOCTTY));
    if (fd.get() < 0) throw BoundedFileError(where, std::strerror(errno));
    struct stat st {};
    if (::fstat(fd.get(), &st) != 0)
        throw BoundedFileError(where, std::string("fstat failed: ") + std::strerror(errno));
    if (!S_ISREG(st.st_mode))
        throw BoundedFileError(where,
                               std::string("it is ") + kind_of(st.st_mode) + ", not a regular file; name a file");
    const auto too_big = [&] {
        return BoundedFileError(where,
                                "it is larger than the limit of " + describe_cap(cap) + "; is this the right file?");
    };
    if (static_cast<std::uintmax_t>(st.st_size) > cap) throw too_big();
    std::string bytes;
    bytes.resize(std::min<std::size_t>(static_cast<std::size_t>(st.st_size), cap) + 1);
    std::size_t used = 0;
    for (;;) {
        if (used == bytes.size()) {
            if (used > cap) throw too_big();
            bytes.resize(std::min(cap + 1, bytes.size() * 2));
        }
        const ssize_t got = ::read(fd.get(), bytes.data() + used, bytes.size() - used);
        if (got < 0) {
            if (errno == EINTR) continue;
            throw BoundedFileError(where, std::strerror(errno));
        }
        if (got == 0) break;
        used += static_cast<std::size_t>(got);
        if (used > cap) throw too_big();
    }
    bytes.resize(used);
    return bytes;
}

} // namespace portico::host
