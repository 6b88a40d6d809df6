// Sockets.h — connections TcpClient does not make by itself: from a chosen
// IPv4 source address (loopback accepts any 127/8 source), to IPv6 and
// unix-domain listeners; and the descriptor limit, raised for tests that
// hold thousands of sockets (a portico child inherits it).
#pragma once

#include "harness/Deadline.h"
#include "harness/TcpClient.h"

#include <cstdint>
#include <filesystem>
#include <string>

namespace portico::test {

// Connects from `source` (bound before connect) to 127.0.0.1:port.
// Throws HarnessError on refusal, error or timeout.
TcpClient connect_from(const std::string &source, std::uint16_t port, Millis timeout = TcpClient::kTimeout);
// Connects to [::1]:port.
TcpClient connect_v6(std::uint16_t port, Millis timeout = TcpClient::kTimeout);
// Connects to the unix-domain stream socket at `path`.
TcpClient connect_unix(const std::filesystem::path &path, Millis timeout = TcpClient::kTimeout);

// Whether this machine has an IPv6 loopback: a socket can bind [::1]:0.
bool ipv6_loopback_available();

// Raises this process's RLIMIT_NOFILE soft limit towards `wanted` (never
// past the hard limit); returns the soft limit now in force.
std::size_t raise_fd_limit(std::size_t wanted);

// A listening unix-domain socket at `path`, as another server would hold
// it; closed (the file left behind, as by a crash) when the object goes.
class UnixListener {
  public:
    explicit UnixListener(const std::filesystem::path &path);
    ~UnixListener();
    UnixListener(const UnixListener &) = delete;
    UnixListener &operator=(const UnixListener &) = delete;

  private:
    int fd_ = -1;
};

} // namespace portico::test
