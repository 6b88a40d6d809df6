// TcpClient.cpp — non-blocking sockets driven by poll(2) against a Deadline.
#include "harness/TcpClient.h"

#include "harness/HarnessError.h"

#include <cerrno>
#include <cstring>
#include <utility>

#include <arpa/inet.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

namespace portico::test {

namespace {

std::string errno_text(int err) {
    return std::strerror(err);
}

// A non-blocking, close-on-exec socket (no portico child may inherit it),
// connected or failed by the deadline. Returns the fd, or -errno.
int connect_socket(const std::string &host, std::uint16_t port, const Deadline &deadline) {
    sockaddr_in addr{};
    addr.sin_family = AF_INET;
    addr.sin_port = htons(port);
    if (::inet_pton(AF_INET, host.c_str(), &addr.sin_addr) != 1) return -EINVAL;
    const int fd = ::socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
    if (fd < 0) return -errno;
    if (::connect(fd, reinterpret_cast<const sockaddr *>(&addr), sizeof addr) == 0) return fd;
    if (errno != EINPROGRESS) {
        const int err = errno;
        ::close(fd);
        return -err;
    }
    pollfd p{fd, POLLOUT, 0};
    int ready;
    while ((ready = ::poll(&p, 1, deadline.poll_ms())) < 0 && errno == EINTR) {
    }
    if (ready == 0) {
        ::close(fd);
        return -ETIMEDOUT;
    }
    int err = 0;
    socklen_t len = sizeof err;
    ::getsockopt(fd, SOL_SOCKET, SO_ERROR, &err, &len);
    if (err != 0) {
        ::close(fd);
        return -err;
    }
    return fd;
}

std::string describe_received(const std::string &data) {
    std::string shown = data.substr(0, 200);
    for (char &c : shown)
        if (static_cast<unsigned char>(c) < 0x20 && c != '\n') c = '?';
    return std::to_string(data.size()) + " bytes so far: \"" + shown + (data.size() > 200 ? "…" : "") + "\"";
}

} // namespace

TcpClient::TcpClient(std::uint16_t port, Millis timeout, const std::string &host) : port_(port) {
    const int fd = connect_socket(host, port, Deadline(timeout));
    if (fd < 0)
        throw HarnessError("TcpClient: connect to " + host + ":" + std::to_string(port) +
                           " failed: " + errno_text(-fd));
    fd_ = fd;
    const int one = 1;
    ::setsockopt(fd_, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
}

TcpClient::~TcpClient() {
    close();
}

TcpClient::TcpClient(TcpClient &&other) noexcept
    : fd_(std::exchange(other.fd_, -1)), port_(other.port_), buffer_(std::move(other.buffer_)) {}

TcpClient &TcpClient::operator=(TcpClient &&other) noexcept {
    if (this != &other) {
        close();
        fd_ = std::exchange(other.fd_, -1);
        port_ = other.port_;
        buffer_ = std::move(other.buffer_);
    }
    return *this;
}

int TcpClient::probe_connect(std::uint16_t port, Millis timeout, const std::string &host) {
    const int fd = connect_socket(host, port, Deadline(timeout));
    if (fd < 0) return -fd;
    ::close(fd);
    return 0;
}

TcpClient TcpClient::adopt(int fd, std::uint16_t port) {
    ::fcntl(fd, F_SETFL, ::fcntl(fd, F_GETFL) | O_NONBLOCK);
    TcpClient client;
    client.fd_ = fd;
    client.port_ = port;
    return client;
}

int TcpClient::require_fd(const char *what) const {
    if (fd_ < 0) throw HarnessError(std::string("TcpClient: ") + what + " on a closed client");
    return fd_;
}

void TcpClient::send(std::string_view data, Millis timeout) {
    const int fd = require_fd("send");
    const Deadline deadline(timeout);
    size_t sent = 0;
    while (sent < data.size()) {
        const ssize_t n = ::send(fd, data.data() + sent, data.size() - sent, MSG_NOSIGNAL);
        if (n > 0) {
            sent += static_cast<size_t>(n);
            continue;
        }
        if (n < 0 && errno == EINTR) continue;
        if (n < 0 && errno != EAGAIN && errno != EWOULDBLOCK)
            throw HarnessError("TcpClient: send to port " + std::to_string(port_) + " failed after " +
                               std::to_string(sent) + " of " + std::to_string(data.size()) +
                               " bytes: " + errno_text(errno));
        pollfd p{fd, POLLOUT, 0};
        if (::poll(&p, 1, deadline.poll_ms()) == 0)
            throw HarnessError("TcpClient: send to port " + std::to_string(port_) + " timed out after " +
                               std::to_string(sent) + " of " + std::to_string(data.size()) +
                               " bytes (is the server reading?)");
    }
}

TcpClient::ReadResult TcpClient::fill(const Deadline &deadline) {
    const int fd = require_fd("read");
    for (;;) {
        char buf[65536];
        const ssize_t n = ::recv(fd, buf, sizeof buf, 0);
        if (n > 0) {
            buffer_.append(buf, static_cast<size_t>(n));
            return ReadResult::data;
        }
        if (n == 0) return ReadResult::eof;
        if (errno == EINTR) continue;
        if (errno == ECONNRESET || errno == EPIPE) return ReadResult::reset;
        if (errno != EAGAIN && errno != EWOULDBLOCK)
            throw HarnessError("TcpClient: recv from port " + std::to_string(port_) + ": " + errno_text(errno));
        pollfd p{fd, POLLIN, 0};
        const int ready = ::poll(&p, 1, deadline.poll_ms());
        if (ready == 0) return ReadResult::timeout;
    }
}

std::optional<std::string> TcpClient::read_line(Millis timeout) {
    const Deadline deadline(timeout);
    for (;;) {
        if (const auto nl = buffer_.find('\n'); nl != std::string::npos) {
            std::string line = buffer_.substr(0, nl + 1);
            buffer_.erase(0, nl + 1);
            return line;
        }
        switch (fill(deadline)) {
        case ReadResult::data:
            break;
        case ReadResult::eof:
            if (buffer_.empty()) return std::nullopt;
            return std::exchange(buffer_, {});
        case ReadResult::reset:
            throw HarnessError("TcpClient: connection to port " + std::to_string(port_) +
                               " reset while reading a line; " + describe_received(buffer_));
        case ReadResult::timeout:
            throw HarnessError("TcpClient: no complete line from port " + std::to_string(port_) + " within " +
                               std::to_string(timeout.count()) + " ms; " + describe_received(buffer_));
        }
    }
}

std::string TcpClient::read_until_eof(Millis timeout) {
    const Deadline deadline(timeout);
    for (;;) {
        switch (fill(deadline)) {
        case ReadResult::data:
            break;
        case ReadResult::eof:
            return std::exchange(buffer_, {});
        case ReadResult::reset:
            throw HarnessError("TcpClient: connection to port " + std::to_string(port_) + " reset instead of closed; " +
                               describe_received(buffer_));
        case ReadResult::timeout:
            throw HarnessError("TcpClient: port " + std::to_string(port_) + " did not close within " +
                               std::to_string(timeout.count()) + " ms; " + describe_received(buffer_));
        }
    }
}

std::optional<std::string> TcpClient::read_until_closed(Millis timeout) {
    const Deadline deadline(timeout);
    for (;;) {
        switch (fill(deadline)) {
        case ReadResult::data:
            break;
        case ReadResult::eof:
        case ReadResult::reset:
            return std::exchange(buffer_, {});
        case ReadResult::timeout:
            return std::nullopt;
        }
    }
}

std::string TcpClient::round_trip(std::string_view payload, Millis timeout) {
    const int fd = require_fd("round_trip");
    const Deadline deadline(timeout);
    size_t sent = 0;
    bool write_open = true;
    for (;;) {
        if (write_open && sent == payload.size()) {
            shutdown_write();
            write_open = false;
        }
        pollfd p{fd, static_cast<short>(POLLIN | (write_open ? POLLOUT : 0)), 0};
        const int ready = ::poll(&p, 1, deadline.poll_ms());
        if (ready < 0 && errno == EINTR) continue;
        if (ready == 0)
            throw HarnessError("TcpClient: round trip of " + std::to_string(payload.size()) + " bytes to port " +
                               std::to_string(port_) + " timed out having sent " + std::to_string(sent) +
                               "; received " + describe_received(buffer_));
        if (write_open && (p.revents & POLLOUT)) {
            const ssize_t n = ::send(fd, payload.data() + sent, payload.size() - sent, MSG_NOSIGNAL);
            if (n > 0)
                sent += static_cast<size_t>(n);
            else if (n < 0 && errno != EAGAIN && errno != EWOULDBLOCK && errno != EINTR)
                throw HarnessError("TcpClient: round trip send to port " + std::to_string(port_) + " failed after " +
                                   std::to_string(sent) + " bytes: " + errno_text(errno));
        }
        if (p.revents & (POLLIN | POLLHUP | POLLERR)) {
            switch (fill(Deadline(0ms))) {
            case ReadResult::data:
            case ReadResult::timeout:
                break;
            case ReadResult::eof:
                if (write_open)
                    throw HarnessError("TcpClient: port " + std::to_string(port_) + " closed after " +
                                       std::to_string(sent) + " of " + std::to_string(payload.size()) +
                                       " bytes were sent; " + describe_received(buffer_));
                return std::exchange(buffer_, {});
            case ReadResult::reset:
                throw HarnessError("TcpClient: round trip to port " + std::to_string(port_) + " reset after " +
                                   std::to_string(sent) + " bytes sent; " + describe_received(buffer_));
            }
        }
    }
}

void TcpClient::shutdown_write() {
    if (::shutdown(require_fd("shutdown_write"), SHUT_WR) != 0)
        throw HarnessError("TcpClient: shutdown(SHUT_WR): " + errno_text(errno));
}

void TcpClient::close() {
    if (fd_ >= 0) ::close(std::exchange(fd_, -1));
    buffer_.clear();
}

std::uint16_t TcpClient::local_port() const {
    sockaddr_in addr{};
    socklen_t len = sizeof addr;
    if (::getsockname(require_fd("local_port"), reinterpret_cast<sockaddr *>(&addr), &len) != 0)
        throw HarnessError("TcpClient: getsockname: " + errno_text(errno));
    return ntohs(addr.sin_port);
}

std::string ask(std::uint16_t port, const std::string &line) {
    try {
        TcpClient client(port, 2s);
        client.send(line + "\n");
        return client.read_line(2s).value_or("");
    } catch (const std::exception &) {
        return "";
    }
}

} // namespace portico::test
