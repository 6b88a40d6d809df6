// HostSockets.h — the host's end of a test's connection, seen from outside:
// its socket options, read through a duplicate of the host's descriptor
// (pidfd_getfd), so a test can check what `tcp_nodelay`, `keepalive` and
// `socket_options:` did to the sockets a service accepted (or listens on)
// without any help from the host.
#pragma once

#include "harness/HarnessError.h"
#include "harness/TcpClient.h"

#include <cstdint>

#include <sys/types.h>

namespace portico::test {

// This machine cannot lend another process's descriptor (kernel before 5.6,
// or no ptrace permission over the host): the test should skip.
class HostSocketsUnavailable : public HarnessError {
public:
    using HarnessError::HarnessError;
};

// getsockopt(level, name) as an int on the socket process `host` holds for
// the server side of `client`'s connection. Throws HarnessError when the host
// holds no such socket, HostSocketsUnavailable when it cannot be looked at.
int host_socket_option(pid_t host, const TcpClient &client, int level, int name);

// The same for the socket `host` listens on at TCP `port`.
int host_listener_option(pid_t host, std::uint16_t port, int level, int name);

} // namespace portico::test
