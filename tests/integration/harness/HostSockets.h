// HostSockets.h — the host's end of a test's connection, seen from outside:
// its socket options, read through a duplicate of the host's descriptor
// (pidfd_getfd), so a test can check what `tcp_nodelay` and `keepalive`
// did to the sockets a service accepted without any help from the host.
#pragma once

#include "harness/HarnessError.h"
#include "harness/TcpClient.h"

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

} // namespace portico::test
