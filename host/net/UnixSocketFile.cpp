// UnixSocketFile.cpp — telling a stale unix socket file from a live one.
#include "net/UnixSocketFile.h"

#include <cerrno>
#include <cstring>
#include <stdexcept>

#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <unistd.h>

namespace portico::host {

void remove_stale_unix_socket(const std::string &path) {
    struct stat st {};
    if (::lstat(path.c_str(), &st) != 0) return; // nothing there
    if (!S_ISSOCK(st.st_mode))
        throw std::runtime_error(path + " exists and is not a socket; remove it or choose another path");
    const int fd = ::socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
    if (fd < 0) throw std::runtime_error("cannot probe " + path + ": " + std::strerror(errno));
    sockaddr_un addr{};
    addr.sun_family = AF_UNIX;
    std::strncpy(addr.sun_path, path.c_str(), sizeof addr.sun_path - 1);
    const int rc = ::connect(fd, reinterpret_cast<sockaddr *>(&addr), sizeof addr);
    const int error = errno;
    ::close(fd);
    // Only a refusal means nobody is bound there. A live datagram server
    // answers a stream probe with EPROTOTYPE: in use, not stale.
    if (rc == 0 || error == EPROTOTYPE) throw std::runtime_error(path + " is in use by another running server");
    if (error != ECONNREFUSED)
        throw std::runtime_error("cannot tell whether " + path + " is in use (" + std::strerror(error) +
                                 "); remove it if no server uses it");
    ::unlink(path.c_str());
}

void set_unix_socket_mode(const std::string &path, int mode) {
    if (::chmod(path.c_str(), static_cast<mode_t>(mode)) != 0)
        throw std::runtime_error("cannot set mode of " + path + ": " + std::strerror(errno));
}

} // namespace portico::host
