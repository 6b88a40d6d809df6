// ConnectStorm.cpp — non-blocking sockets driven by one poll(2) loop.
#include "harness/ConnectStorm.h"

#include <algorithm>
#include <cerrno>
#include <cstring>

#include <arpa/inet.h>
#include <netinet/in.h>
#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

namespace portico::test {
namespace {

using Clock = std::chrono::steady_clock;

struct Attempt {
    int fd = -1;
    Clock::time_point started;
    bool connected = false;
    std::string received;
};

enum class Step { pending, served, refused, failed, hung };

// Sends the probe once connected; short sends cannot happen for a probe
// this small on a fresh socket, and a host that already closed shows up
// as a read of its close.
Step on_connected(Attempt &a, const StormOptions &options, std::string &error) {
    int err = 0;
    socklen_t len = sizeof err;
    ::getsockopt(a.fd, SOL_SOCKET, SO_ERROR, &err, &len);
    if (err != 0) {
        error = std::string("connect: ") + std::strerror(err);
        return Step::failed;
    }
    a.connected = true;
    ::send(a.fd, options.probe.data(), options.probe.size(), MSG_NOSIGNAL);
    return Step::pending;
}

Step on_readable(Attempt &a, const StormOptions &options) {
    char buf[4096];
    for (;;) {
        const ssize_t n = ::recv(a.fd, buf, sizeof buf, 0);
        if (n > 0) {
            a.received.append(buf, static_cast<std::size_t>(n));
            const bool whole =
                options.reply_suffix.empty() ? a.received == options.reply : a.received.ends_with(options.reply_suffix);
            if (whole) return Step::served;
            continue;
        }
        if (n == 0) return Step::refused;
        if (errno == EINTR) continue;
        if (errno == EAGAIN || errno == EWOULDBLOCK) return Step::pending;
        return Step::refused; // reset: closed with our probe unread
    }
}

std::string describe_hang(const Attempt &a, Millis timeout) {
    return std::string(a.connected ? "connected, but neither reply nor close" : "connect did not complete") +
           " within " + std::to_string(timeout.count()) + " ms; received \"" + a.received + "\"";
}

} // namespace

HeldSockets &HeldSockets::operator=(HeldSockets &&other) noexcept {
    if (this != &other) {
        close_all();
        fds_ = std::move(other.fds_);
        other.fds_.clear();
    }
    return *this;
}

void HeldSockets::close_all() {
    for (const int fd : fds_)
        ::close(fd);
    fds_.clear();
}

StormResult connect_storm(const StormOptions &options) {
    StormResult result;
    sockaddr_in addr{};
    addr.sin_family = AF_INET;
    addr.sin_port = htons(options.port);
    addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);

    std::vector<Attempt> active;
    std::vector<pollfd> polls;
    int started = 0;
    const auto note_failure = [&](const std::string &what) {
        if (result.first_failure.empty()) result.first_failure = what;
    };
    const auto end = [&](Attempt &a, Step step) {
        result.slowest = std::max(result.slowest, std::chrono::duration_cast<Millis>(Clock::now() - a.started));
        switch (step) {
        case Step::served:
            ++result.served;
            result.held.add(a.fd);
            a.fd = -1;
            return;
        case Step::refused:
            ++result.refused;
            ++result.refused_saying[a.received];
            break;
        case Step::failed:
            ++result.connect_failed;
            break;
        case Step::hung:
            ++result.hung;
            break;
        case Step::pending:
            return;
        }
        ::close(a.fd);
        a.fd = -1;
    };

    while (started < options.attempts || !active.empty()) {
        while (started < options.attempts && static_cast<int>(active.size()) < options.in_flight) {
            ++started;
            Attempt a;
            a.started = Clock::now();
            a.fd = ::socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
            if (a.fd < 0) {
                ++result.connect_failed;
                note_failure(std::string("socket: ") + std::strerror(errno));
                continue;
            }
            if (!options.source.empty()) {
                // A 127.x.y.z source of its own: each source address has its own ~28 000 ephemeral ports.
                sockaddr_in from{};
                from.sin_family = AF_INET;
                ::inet_pton(AF_INET, options.source.c_str(), &from.sin_addr);
                if (::bind(a.fd, reinterpret_cast<const sockaddr *>(&from), sizeof from) != 0) {
                    note_failure("bind to " + options.source + ": " + std::strerror(errno));
                    end(a, Step::failed);
                    continue;
                }
            }
            if (::connect(a.fd, reinterpret_cast<const sockaddr *>(&addr), sizeof addr) != 0 && errno != EINPROGRESS) {
                note_failure(std::string("connect: ") + std::strerror(errno));
                end(a, Step::failed);
                continue;
            }
            active.push_back(std::move(a));
        }
        polls.clear();
        for (const Attempt &a : active)
            polls.push_back({a.fd, static_cast<short>(a.connected ? POLLIN : POLLOUT), 0});
        ::poll(polls.data(), polls.size(), 20);
        const auto now = Clock::now();
        for (std::size_t i = 0; i < active.size(); ++i) {
            Attempt &a = active[i];
            Step step = Step::pending;
            std::string error;
            if (!a.connected && polls[i].revents != 0) step = on_connected(a, options, error);
            if (step == Step::pending && a.connected && (polls[i].revents != 0 || !a.received.empty()))
                step = on_readable(a, options);
            if (step == Step::failed) note_failure(error);
            if (step == Step::pending && now - a.started > options.attempt_timeout) {
                note_failure(describe_hang(a, options.attempt_timeout));
                step = Step::hung;
            }
            end(a, step);
        }
        std::erase_if(active, [](const Attempt &a) { return a.fd < 0; });
    }
    return result;
}

} // namespace portico::test
