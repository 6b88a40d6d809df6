// HostSockets.cpp — /proc/net/tcp{,6} names the socket's inode, /proc/PID/fd
// the host's descriptor for it, pidfd_getfd lends us a copy to ask.
#include "harness/HostSockets.h"

#include "harness/ProcNetTcp.h"

#include <cerrno>
#include <cstdint>
#include <cstring>
#include <filesystem>
#include <optional>
#include <string>

#include <sys/socket.h>
#include <sys/syscall.h>
#include <unistd.h>

namespace portico::test {
namespace {

namespace fs = std::filesystem;

// The descriptor number under which `pid` holds socket `inode`.
std::optional<int> descriptor_of(pid_t pid, const std::string &inode) {
    const std::string wanted = "socket:[" + inode + "]";
    std::error_code ec;
    for (const auto &entry : fs::directory_iterator("/proc/" + std::to_string(pid) + "/fd", ec)) {
        std::error_code link_ec;
        if (fs::read_symlink(entry.path(), link_ec).string() == wanted)
            return std::stoi(entry.path().filename().string());
    }
    return std::nullopt;
}

class Descriptor {
public:
    explicit Descriptor(int fd) : fd_(fd) {}
    ~Descriptor() {
        if (fd_ >= 0) ::close(fd_);
    }
    Descriptor(const Descriptor &) = delete;
    Descriptor &operator=(const Descriptor &) = delete;
    int get() const { return fd_; }

private:
    int fd_;
};

// getsockopt on the socket that /proc/net/tcp lists at (local, remote) ports.
int option_of(pid_t host, std::uint16_t local, std::uint16_t remote, const std::string &what, int level, int name) {
    const auto row = find_tcp_socket(local, remote);
    if (!row) throw HarnessError("HostSockets: no server-side socket for " + what + " in /proc/net/tcp");
    const auto fd = descriptor_of(host, row->inode);
    if (!fd)
        throw HarnessError("HostSockets: process " + std::to_string(host) + " holds no descriptor for socket " +
                           row->inode + " (" + what + ")");
    const Descriptor pidfd(static_cast<int>(::syscall(SYS_pidfd_open, host, 0)));
    if (pidfd.get() < 0) throw HostSocketsUnavailable(std::string("pidfd_open: ") + std::strerror(errno));
    const Descriptor copy(static_cast<int>(::syscall(SYS_pidfd_getfd, pidfd.get(), *fd, 0)));
    if (copy.get() < 0) {
        const int err = errno;
        if (err == ENOSYS || err == EPERM)
            throw HostSocketsUnavailable(std::string("pidfd_getfd: ") + std::strerror(err));
        throw HarnessError("HostSockets: pidfd_getfd of descriptor " + std::to_string(*fd) + ": " + std::strerror(err));
    }
    int value = 0;
    socklen_t len = sizeof value;
    if (::getsockopt(copy.get(), level, name, &value, &len) != 0)
        throw HarnessError(std::string("HostSockets: getsockopt: ") + std::strerror(errno));
    return value;
}

} // namespace

int host_socket_option(pid_t host, const TcpClient &client, int level, int name) {
    const std::string connection = "the connection from local port " + std::to_string(client.local_port()) +
                                   " to port " + std::to_string(client.remote_port());
    return option_of(host, client.remote_port(), client.local_port(), connection, level, name);
}

int host_listener_option(pid_t host, std::uint16_t port, int level, int name) {
    return option_of(host, port, 0, "the listener on port " + std::to_string(port), level, name);
}

} // namespace portico::test
