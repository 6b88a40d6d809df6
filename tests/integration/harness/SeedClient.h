// SeedClient.h — a TCP client that makes exactly the socket calls of Python
// socketserver's example clients: connect, sendall, and recv(bufsize) called
// once (never "read until the reply is complete"). Each call has a deadline,
// so a server that stays silent fails the test instead of hanging it.
#pragma once

#include "harness/Deadline.h"

#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>

namespace portico::test {

class SeedClient {
public:
    static constexpr Millis kTimeout = 5s;

    // socket(AF_INET, SOCK_STREAM) and connect to 127.0.0.1:port; throws HarnessError.
    explicit SeedClient(std::uint16_t port, Millis timeout = kTimeout);
    ~SeedClient();
    SeedClient(const SeedClient &) = delete;
    SeedClient &operator=(const SeedClient &) = delete;

    // sendall(data); throws HarnessError if it cannot all be sent in time.
    void sendall(std::string_view data, Millis timeout = kTimeout);
    // One recv(bufsize), made once the socket is readable: what that recv
    // returned, "" when the server has closed. Throws HarnessError when
    // nothing arrives in time or the connection is reset.
    std::string recv(std::size_t bufsize = 1024, Millis timeout = kTimeout);
    // The local port, as the host's log names this connection's peer.
    std::uint16_t local_port() const;

private:
    int fd_ = -1;
    std::uint16_t port_ = 0;
};

} // namespace portico::test
