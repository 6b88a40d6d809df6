// UnixDatagramClient.cpp — an AF_UNIX SOCK_DGRAM socket driven by poll(2).
#include "harness/UnixDatagramClient.h"

#include "harness/HarnessError.h"

#include <cerrno>
#include <cstring>
#include <utility>
#include <vector>

#include <poll.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

namespace portico::test {
namespace {

sockaddr_un address_of(const std::filesystem::path &path) {
    sockaddr_un addr{};
    addr.sun_family = AF_UNIX;
    if (path.native().size() >= sizeof addr.sun_path) throw HarnessError("unix socket path too long: " + path.native());
    std::strncpy(addr.sun_path, path.c_str(), sizeof addr.sun_path - 1);
    return addr;
}

} // namespace

UnixDatagramClient::UnixDatagramClient(std::filesystem::path server_path, std::filesystem::path own_path)
    : server_path_(std::move(server_path)), own_path_(std::move(own_path)) {
    // Close-on-exec: no portico child may inherit a test's socket.
    fd_ = ::socket(AF_UNIX, SOCK_DGRAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
    if (fd_ < 0) throw HarnessError(std::string("UnixDatagramClient: socket: ") + std::strerror(errno));
    if (own_path_.empty()) return;
    const sockaddr_un own = address_of(own_path_);
    if (::bind(fd_, reinterpret_cast<const sockaddr *>(&own), sizeof own) != 0) {
        const int err = errno;
        ::close(std::exchange(fd_, -1));
        throw HarnessError("UnixDatagramClient: bind " + own_path_.native() + ": " + std::strerror(err));
    }
}

UnixDatagramClient::~UnixDatagramClient() {
    if (fd_ >= 0) ::close(fd_);
    if (!own_path_.empty()) ::unlink(own_path_.c_str());
}

void UnixDatagramClient::send(std::string_view data) {
    const sockaddr_un server = address_of(server_path_);
    for (;;) {
        const ssize_t n =
            ::sendto(fd_, data.data(), data.size(), 0, reinterpret_cast<const sockaddr *>(&server), sizeof server);
        if (n >= 0) return;
        if (errno == EINTR) continue;
        // The server's receive queue is full: wait for room rather than lose it here.
        if (errno == EAGAIN || errno == EWOULDBLOCK) {
            pollfd p{fd_, POLLOUT, 0};
            ::poll(&p, 1, 100);
            continue;
        }
        throw HarnessError("UnixDatagramClient: sendto " + server_path_.native() + ": " + std::strerror(errno));
    }
}

std::optional<std::string> UnixDatagramClient::receive(Millis timeout) {
    const Deadline deadline(timeout);
    std::vector<char> buf(65536);
    for (;;) {
        const ssize_t n = ::recv(fd_, buf.data(), buf.size(), 0);
        if (n >= 0) return std::string(buf.data(), static_cast<std::size_t>(n));
        if (errno == EINTR) continue;
        if (errno != EAGAIN && errno != EWOULDBLOCK)
            throw HarnessError("UnixDatagramClient: recv: " + std::string(std::strerror(errno)));
        if (deadline.expired()) return std::nullopt;
        pollfd p{fd_, POLLIN, 0};
        if (::poll(&p, 1, deadline.poll_ms()) == 0) return std::nullopt;
    }
}

std::string UnixDatagramClient::request(std::string_view data, Millis timeout) {
    send(data);
    auto reply = receive(timeout);
    if (!reply)
        throw HarnessError("UnixDatagramClient: no reply from " + server_path_.native() + " within " +
                           std::to_string(timeout.count()) + "ms to \"" + std::string(data.substr(0, 80)) + "\"");
    return *reply;
}

} // namespace portico::test
