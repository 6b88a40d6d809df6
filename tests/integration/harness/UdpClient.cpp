// UdpClient.cpp — a connected, non-blocking datagram socket driven by poll(2).
#include "harness/UdpClient.h"

#include "harness/HarnessError.h"

#include <cerrno>
#include <cstring>
#include <utility>
#include <vector>

#include <arpa/inet.h>
#include <netinet/in.h>
#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

namespace portico::test {
namespace {

std::string errno_text(int err) { return std::strerror(err); }

// The largest UDP payload; replies can never be longer.
constexpr std::size_t kMaxDatagram = 65536;

} // namespace

UdpClient::UdpClient(std::uint16_t port, const std::string &host) {
    const bool v6 = host.find(':') != std::string::npos;
    target_ = (v6 ? "[" + host + "]" : host) + ":" + std::to_string(port);
    sockaddr_storage addr{};
    socklen_t len = 0;
    if (v6) {
        auto *in6 = reinterpret_cast<sockaddr_in6 *>(&addr);
        in6->sin6_family = AF_INET6;
        in6->sin6_port = htons(port);
        if (::inet_pton(AF_INET6, host.c_str(), &in6->sin6_addr) != 1)
            throw HarnessError("UdpClient: bad address " + host);
        len = sizeof *in6;
    } else {
        auto *in4 = reinterpret_cast<sockaddr_in *>(&addr);
        in4->sin_family = AF_INET;
        in4->sin_port = htons(port);
        if (::inet_pton(AF_INET, host.c_str(), &in4->sin_addr) != 1)
            throw HarnessError("UdpClient: bad address " + host);
        len = sizeof *in4;
    }
    // Close-on-exec: no portico child may inherit a test's socket.
    fd_ = ::socket(v6 ? AF_INET6 : AF_INET, SOCK_DGRAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
    if (fd_ < 0) throw HarnessError("UdpClient: socket: " + errno_text(errno));
    // Room for bursts of replies while the test thread is descheduled.
    const int buffer = 1 << 20;
    ::setsockopt(fd_, SOL_SOCKET, SO_RCVBUF, &buffer, sizeof buffer);
    if (::connect(fd_, reinterpret_cast<const sockaddr *>(&addr), len) != 0) {
        const int err = errno;
        ::close(std::exchange(fd_, -1));
        throw HarnessError("UdpClient: connect to " + target_ + ": " + errno_text(err));
    }
}

UdpClient::~UdpClient() {
    if (fd_ >= 0) ::close(fd_);
}

UdpClient::UdpClient(UdpClient &&other) noexcept
    : fd_(std::exchange(other.fd_, -1)), target_(std::move(other.target_)) {}

UdpClient &UdpClient::operator=(UdpClient &&other) noexcept {
    if (this != &other) {
        if (fd_ >= 0) ::close(fd_);
        fd_ = std::exchange(other.fd_, -1);
        target_ = std::move(other.target_);
    }
    return *this;
}

void UdpClient::send(std::string_view data) {
    for (;;) {
        const ssize_t n = ::send(fd_, data.data(), data.size(), 0);
        if (n >= 0) return;
        if (errno == EINTR) continue;
        // A full send buffer: wait for room rather than lose the datagram here.
        if (errno == EAGAIN || errno == EWOULDBLOCK || errno == ENOBUFS) {
            pollfd p{fd_, POLLOUT, 0};
            ::poll(&p, 1, 100);
            continue;
        }
        // ECONNREFUSED: an earlier datagram met a closed port (ICMP); not this one's fault.
        if (errno == ECONNREFUSED) continue;
        throw HarnessError("UdpClient: send of " + std::to_string(data.size()) + " bytes to " + target_ + ": " +
                           errno_text(errno));
    }
}

std::optional<std::string> UdpClient::receive(Millis timeout) {
    const Deadline deadline(timeout);
    std::vector<char> buf(kMaxDatagram);
    for (;;) {
        const ssize_t n = ::recv(fd_, buf.data(), buf.size(), 0);
        if (n >= 0) return std::string(buf.data(), static_cast<std::size_t>(n));
        if (errno == EINTR || errno == ECONNREFUSED) continue;
        if (errno != EAGAIN && errno != EWOULDBLOCK)
            throw HarnessError("UdpClient: recv from " + target_ + ": " + errno_text(errno));
        if (deadline.expired()) return std::nullopt;
        pollfd p{fd_, POLLIN, 0};
        if (::poll(&p, 1, deadline.poll_ms()) == 0) return std::nullopt;
    }
}

std::string UdpClient::request(std::string_view data, Millis timeout) {
    send(data);
    auto reply = receive(timeout);
    if (!reply)
        throw HarnessError("UdpClient: no reply from " + target_ + " within " + std::to_string(timeout.count()) +
                           "ms to a " + std::to_string(data.size()) + "-byte datagram \"" +
                           std::string(data.substr(0, 80)) + "\"");
    return *reply;
}

std::uint16_t UdpClient::local_port() const {
    sockaddr_storage addr{};
    socklen_t len = sizeof addr;
    ::getsockname(fd_, reinterpret_cast<sockaddr *>(&addr), &len);
    if (addr.ss_family == AF_INET6) return ntohs(reinterpret_cast<const sockaddr_in6 *>(&addr)->sin6_port);
    return ntohs(reinterpret_cast<const sockaddr_in *>(&addr)->sin_port);
}

} // namespace portico::test
