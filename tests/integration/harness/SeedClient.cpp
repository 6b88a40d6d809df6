// SeedClient.cpp — a non-blocking socket, so each call waits in poll(2)
// against its deadline; recv() then calls recv(2) exactly once.
#include "harness/SeedClient.h"

#include "harness/HarnessError.h"

#include <cerrno>
#include <cstring>
#include <vector>

#include <arpa/inet.h>
#include <netinet/in.h>
#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

namespace portico::test {

namespace {

// Waits until `fd` shows `events` (or an error) before the deadline.
bool wait_for(int fd, short events, const Deadline &deadline) {
    for (;;) {
        pollfd p{fd, events, 0};
        const int rc = ::poll(&p, 1, deadline.poll_ms());
        if (rc > 0) return true;
        if (rc == 0) return false;
        if (errno != EINTR) return false;
    }
}

} // namespace

SeedClient::SeedClient(std::uint16_t port, Millis timeout) : port_(port) {
    const Deadline deadline(timeout);
    fd_ = ::socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
    if (fd_ < 0) throw HarnessError(std::string("socket: ") + std::strerror(errno));
    sockaddr_in addr{};
    addr.sin_family = AF_INET;
    addr.sin_port = htons(port);
    addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    int err = 0;
    if (::connect(fd_, reinterpret_cast<const sockaddr *>(&addr), sizeof addr) != 0) {
        err = errno;
        if (err == EINPROGRESS) {
            if (!wait_for(fd_, POLLOUT, deadline)) {
                err = ETIMEDOUT;
            } else {
                socklen_t len = sizeof err;
                ::getsockopt(fd_, SOL_SOCKET, SO_ERROR, &err, &len);
            }
        }
    }
    if (err != 0) {
        ::close(fd_);
        fd_ = -1;
        throw HarnessError("connect to 127.0.0.1:" + std::to_string(port) + ": " + std::strerror(err));
    }
}

SeedClient::~SeedClient() {
    if (fd_ >= 0) ::close(fd_);
}

void SeedClient::sendall(std::string_view data, Millis timeout) {
    const Deadline deadline(timeout);
    while (!data.empty()) {
        const ssize_t n = ::send(fd_, data.data(), data.size(), MSG_NOSIGNAL);
        if (n > 0) {
            data.remove_prefix(static_cast<std::size_t>(n));
            continue;
        }
        if (n < 0 && errno == EINTR) continue;
        if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK) && wait_for(fd_, POLLOUT, deadline)) continue;
        throw HarnessError("sendall to 127.0.0.1:" + std::to_string(port_) + ": " +
                           (n < 0 ? std::strerror(errno) : "nothing sent") + ", " + std::to_string(data.size()) +
                           " bytes left");
    }
}

std::string SeedClient::recv(std::size_t bufsize, Millis timeout) {
    const Deadline deadline(timeout);
    if (!wait_for(fd_, POLLIN, deadline))
        throw HarnessError("recv from 127.0.0.1:" + std::to_string(port_) + ": nothing arrived within " +
                           std::to_string(timeout.count()) + " ms");
    std::vector<char> buf(bufsize);
    ssize_t n = -1;
    do {
        n = ::recv(fd_, buf.data(), buf.size(), 0);
    } while (n < 0 && errno == EINTR);
    if (n < 0) throw HarnessError("recv from 127.0.0.1:" + std::to_string(port_) + ": " + std::strerror(errno));
    return std::string(buf.data(), static_cast<std::size_t>(n));
}

std::uint16_t SeedClient::local_port() const {
    sockaddr_in addr{};
    socklen_t len = sizeof addr;
    if (::getsockname(fd_, reinterpret_cast<sockaddr *>(&addr), &len) != 0) return 0;
    return ntohs(addr.sin_port);
}

} // namespace portico::test
