// ProxyHeaderRead.cpp — peek, parse, then consume only the header's bytes:
// recv with MSG_PEEK shows what came without taking it, so whatever follows
// the header is left for the Connection (or the TLS handshake) to read.
#include "net/ProxyHeaderRead.h"

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <vector>

#include <sys/socket.h>

namespace portico::host {
namespace {

constexpr std::size_t kV1MaxBytes = 107; // spec 2.1: the longest v1 line, CRLF included

ProxyRead fail(ProxyRead::Status status, std::string error) {
    ProxyRead result;
    result.status = status;
    result.error = std::move(error);
    return result;
}

// Takes `n` bytes the kernel already holds (a peek showed them).
bool consume(int fd, std::size_t n) {
    std::vector<char> sink(n);
    std::size_t taken = 0;
    while (taken < n) {
        const ssize_t got = ::recv(fd, sink.data() + taken, n - taken, MSG_DONTWAIT);
        if (got > 0) {
            taken += static_cast<std::size_t>(got);
            continue;
        }
        if (got < 0 && errno == EINTR) continue;
        return false;
    }
    return true;
}

} // namespace

ProxyRead read_proxy_header(int fd, IoWait &wait, const ProxyOptions &options, IoWait::Clock::time_point deadline) {
    // One past the largest header the parser accepts: more than that and it
    // has said invalid already.
    const std::size_t cap = std::max(kV1MaxBytes, options.max_v2_bytes) + 1;
    std::string taken; // header bytes already consumed (the parser said need_more)
    std::vector<char> peek(cap);
    for (;;) {
        const ssize_t n = ::recv(fd, peek.data(), cap - taken.size(), MSG_PEEK | MSG_DONTWAIT);
        if (n == 0)
            return fail(ProxyRead::Status::closed, "the peer closed the connection after " +
                                                       std::to_string(taken.size()) +
                                                       " bytes, before a complete PROXY header");
        if (n < 0) {
            const int error = errno;
            if (error == EINTR) continue;
            if (error != EAGAIN && error != EWOULDBLOCK)
                return fail(ProxyRead::Status::failed,
                            "reading the PROXY header: " + std::string(std::strerror(error)));
            wait.drained(false);
            const bool failed = IoWait::Clock::now() < deadline && wait.wait(false, deadline) == IoWait::Result::failed;
            if (failed) return fail(ProxyRead::Status::failed, "waiting for the PROXY header failed");
            if (IoWait::Clock::now() >= deadline)
                return fail(ProxyRead::Status::timeout, "no complete PROXY header within proxy_timeout (" +
                                                            std::to_string(taken.size()) + " bytes came)");
            continue;
        }
        const std::size_t before = taken.size();
        taken.append(peek.data(), static_cast<std::size_t>(n));
        ProxyParse parse = parse_proxy_header(taken, options);
        switch (parse.status) {
        case ProxyParse::Status::invalid:
            return fail(ProxyRead::Status::invalid, "invalid PROXY header: " + parse.error);
        case ProxyParse::Status::complete: {
            if (!consume(fd, parse.consumed - before))
                return fail(ProxyRead::Status::failed, "the PROXY header's bytes vanished while being read");
            ProxyRead result;
            result.status = ProxyRead::Status::complete;
            result.header = std::move(parse.header);
            return result;
        }
        case ProxyParse::Status::need_more:
            // Every byte seen belongs to the header: take them, wait for the rest.
            if (!consume(fd, static_cast<std::size_t>(n)))
                return fail(ProxyRead::Status::failed, "the PROXY header's bytes vanished while being read");
            if (taken.size() >= cap)
                return fail(ProxyRead::Status::invalid,
                            "PROXY header longer than " + std::to_string(cap - 1) + " bytes");
            break;
        }
    }
}

} // namespace portico::host
