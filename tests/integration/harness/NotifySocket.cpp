// NotifySocket.cpp
#include "harness/NotifySocket.h"

#include "harness/HarnessError.h"

#include <cerrno>
#include <cstring>
#include <sstream>

#include <poll.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

namespace portico::test {

NotifySocket::NotifySocket(std::string address) : address_(std::move(address)) {
    fd_ = ::socket(AF_UNIX, SOCK_DGRAM | SOCK_CLOEXEC, 0);
    if (fd_ < 0) throw HarnessError(std::string("NotifySocket: socket: ") + std::strerror(errno));
    sockaddr_un addr{};
    addr.sun_family = AF_UNIX;
    std::string raw = address_;
    if (!raw.empty() && raw.front() == '@') raw.front() = '\0';
    if (raw.size() >= sizeof addr.sun_path) throw HarnessError("NotifySocket: address too long: " + address_);
    std::memcpy(addr.sun_path, raw.data(), raw.size());
    const auto len = static_cast<socklen_t>(offsetof(sockaddr_un, sun_path) + raw.size());
    if (::bind(fd_, reinterpret_cast<sockaddr *>(&addr), len) != 0)
        throw HarnessError("NotifySocket: bind " + address_ + ": " + std::strerror(errno));
}

NotifySocket::~NotifySocket() {
    ::close(fd_);
    if (!address_.empty() && address_.front() != '@') ::unlink(address_.c_str());
}

std::optional<std::string> NotifySocket::receive(Millis timeout) {
    const Deadline deadline(timeout);
    for (;;) {
        pollfd p{fd_, POLLIN, 0};
        const int ready = ::poll(&p, 1, deadline.poll_ms());
        if (ready < 0 && errno == EINTR) continue;
        if (ready <= 0) return std::nullopt;
        char buffer[4096];
        const ssize_t n = ::recv(fd_, buffer, sizeof buffer, 0);
        if (n < 0 && errno == EINTR) continue;
        if (n < 0) throw HarnessError(std::string("NotifySocket: recv: ") + std::strerror(errno));
        return std::string(buffer, static_cast<std::size_t>(n));
    }
}

std::optional<std::string> NotifySocket::receive_with(const std::string &field, Millis timeout, std::string *skipped) {
    const Deadline deadline(timeout);
    for (;;) {
        auto message = receive(deadline.remaining());
        if (!message) return std::nullopt;
        if (has_field(*message, field)) return message;
        if (skipped != nullptr) *skipped += *message + "\n";
    }
}

bool has_field(const std::string &message, const std::string &field) {
    std::istringstream in(message);
    for (std::string line; std::getline(in, line);)
        if (line == field) return true;
    return false;
}

} // namespace portico::test
