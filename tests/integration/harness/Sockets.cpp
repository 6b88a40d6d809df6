// Sockets.cpp — socket(2)/bind(2)/connect(2) by hand, with deadlines.
#include "harness/Sockets.h"

#include "harness/HarnessError.h"

#include <algorithm>
#include <cerrno>
#include <cstring>

#include <arpa/inet.h>
#include <netinet/in.h>
#include <poll.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

namespace portico::test {
namespace {

// A non-blocking, close-on-exec socket of `family`, bound to `local` if
// given, connected to `peer` by the deadline. Returns the fd or -errno.
int connect_socket(int family, const sockaddr *peer, socklen_t peer_len, const sockaddr *local, socklen_t local_len,
                   const Deadline &deadline) {
    const int fd = ::socket(family, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
    if (fd < 0) return -errno;
    const auto fail = [fd](int err) {
        ::close(fd);
        return -err;
    };
    if (local != nullptr && ::bind(fd, local, local_len) != 0) return fail(errno);
    if (::connect(fd, peer, peer_len) == 0) return fd;
    if (errno != EINPROGRESS && errno != EAGAIN) return fail(errno);
    pollfd p{fd, POLLOUT, 0};
    int ready;
    while ((ready = ::poll(&p, 1, deadline.poll_ms())) < 0 && errno == EINTR) {
    }
    if (ready == 0) return fail(ETIMEDOUT);
    int err = 0;
    socklen_t len = sizeof err;
    ::getsockopt(fd, SOL_SOCKET, SO_ERROR, &err, &len);
    return err != 0 ? fail(err) : fd;
}

TcpClient adopt_or_throw(int fd, std::uint16_t port, const std::string &what) {
    if (fd < 0) throw HarnessError("connect " + what + " failed: " + std::strerror(-fd));
    return TcpClient::adopt(fd, port);
}

sockaddr_in inet4(const std::string &host, std::uint16_t port) {
    sockaddr_in addr{};
    addr.sin_family = AF_INET;
    addr.sin_port = htons(port);
    if (::inet_pton(AF_INET, host.c_str(), &addr.sin_addr) != 1) throw HarnessError("not an IPv4 address: " + host);
    return addr;
}

sockaddr_un unix_address(const std::filesystem::path &path) {
    sockaddr_un addr{};
    addr.sun_family = AF_UNIX;
    if (path.string().size() >= sizeof addr.sun_path) throw HarnessError("unix socket path too long: " + path.string());
    std::strncpy(addr.sun_path, path.c_str(), sizeof addr.sun_path - 1);
    return addr;
}

} // namespace

TcpClient connect_from(const std::string &source, std::uint16_t port, Millis timeout) {
    const sockaddr_in peer = inet4("127.0.0.1", port);
    const sockaddr_in local = inet4(source, 0);
    const int fd = connect_socket(AF_INET, reinterpret_cast<const sockaddr *>(&peer), sizeof peer,
                                  reinterpret_cast<const sockaddr *>(&local), sizeof local, Deadline(timeout));
    return adopt_or_throw(fd, port, "from " + source + " to 127.0.0.1:" + std::to_string(port));
}

TcpClient connect_v6(std::uint16_t port, Millis timeout) {
    sockaddr_in6 peer{};
    peer.sin6_family = AF_INET6;
    peer.sin6_port = htons(port);
    peer.sin6_addr = in6addr_loopback;
    const int fd = connect_socket(AF_INET6, reinterpret_cast<const sockaddr *>(&peer), sizeof peer, nullptr, 0,
                                  Deadline(timeout));
    return adopt_or_throw(fd, port, "to [::1]:" + std::to_string(port));
}

TcpClient connect_unix(const std::filesystem::path &path, Millis timeout) {
    const sockaddr_un peer = unix_address(path);
    const int fd = connect_socket(AF_UNIX, reinterpret_cast<const sockaddr *>(&peer), sizeof peer, nullptr, 0,
                                  Deadline(timeout));
    return adopt_or_throw(fd, 0, "to unix:" + path.string());
}

bool ipv6_loopback_available() {
    const int fd = ::socket(AF_INET6, SOCK_STREAM | SOCK_CLOEXEC, 0);
    if (fd < 0) return false;
    sockaddr_in6 addr{};
    addr.sin6_family = AF_INET6;
    addr.sin6_addr = in6addr_loopback;
    const bool ok = ::bind(fd, reinterpret_cast<const sockaddr *>(&addr), sizeof addr) == 0;
    ::close(fd);
    return ok;
}

std::size_t raise_fd_limit(std::size_t wanted) {
    rlimit limit{};
    if (::getrlimit(RLIMIT_NOFILE, &limit) != 0) return 0;
    const rlim_t target = std::min<rlim_t>(static_cast<rlim_t>(wanted), limit.rlim_max);
    if (limit.rlim_cur < target) {
        limit.rlim_cur = target;
        if (::setrlimit(RLIMIT_NOFILE, &limit) != 0) ::getrlimit(RLIMIT_NOFILE, &limit);
    }
    return static_cast<std::size_t>(limit.rlim_cur);
}

UnixListener::UnixListener(const std::filesystem::path &path) {
    const sockaddr_un addr = unix_address(path);
    fd_ = ::socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
    if (fd_ < 0 || ::bind(fd_, reinterpret_cast<const sockaddr *>(&addr), sizeof addr) != 0 || ::listen(fd_, 8) != 0)
        throw HarnessError("cannot listen on unix:" + path.string() + ": " + std::strerror(errno));
}

UnixListener::~UnixListener() {
    if (fd_ >= 0) ::close(fd_);
}

} // namespace portico::test
