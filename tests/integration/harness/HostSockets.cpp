// HostSockets.cpp — /proc/net/tcp{,6} names the socket's inode, /proc/PID/fd
// the host's descriptor for it, pidfd_getfd lends us a copy to ask.
#include "harness/HostSockets.h"

#include <cerrno>
#include <cstdint>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <optional>
#include <sstream>
#include <string>

#include <sys/socket.h>
#include <sys/syscall.h>
#include <unistd.h>

namespace portico::test {
namespace {

namespace fs = std::filesystem;

std::optional<std::uint16_t> port_of(const std::string &address) {
    const auto colon = address.rfind(':');
    if (colon == std::string::npos) return std::nullopt;
    return static_cast<std::uint16_t>(std::stoul(address.substr(colon + 1), nullptr, 16));
}

// The inode of the TCP socket whose local port is `local` and remote port `remote`.
std::optional<std::string> socket_inode(std::uint16_t local, std::uint16_t remote) {
    for (const char *table : {"/proc/net/tcp", "/proc/net/tcp6"}) {
        std::ifstream in(table);
        std::string line;
        std::getline(in, line); // header
        while (std::getline(in, line)) {
            std::istringstream fields(line);
            std::string slot, local_addr, remote_addr, state, queues, timer, retransmits, uid, timeout, inode;
            if (!(fields >> slot >> local_addr >> remote_addr >> state >> queues >> timer >> retransmits >> uid >>
                  timeout >> inode))
                continue;
            if (port_of(local_addr) == local && port_of(remote_addr) == remote) return inode;
        }
    }
    return std::nullopt;
}

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

} // namespace

int host_socket_option(pid_t host, const TcpClient &client, int level, int name) {
    const std::string connection = "the connection from local port " + std::to_string(client.local_port()) +
                                   " to port " + std::to_string(client.remote_port());
    const auto inode = socket_inode(client.remote_port(), client.local_port());
    if (!inode) throw HarnessError("HostSockets: no server-side socket for " + connection + " in /proc/net/tcp");
    const auto fd = descriptor_of(host, *inode);
    if (!fd)
        throw HarnessError("HostSockets: process " + std::to_string(host) + " holds no descriptor for socket " +
                           *inode + " (" + connection + ")");
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

} // namespace portico::test
