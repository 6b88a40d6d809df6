// ProcNetTcp.h — one TCP socket of this machine as /proc/net/tcp{,6} lists
// it, found by its local and remote ports (on loopback a connection shows
// twice: once from each end).
#pragma once

#include <cstdint>
#include <optional>
#include <string>

namespace portico::test {

struct ProcNetTcpRow {
    unsigned long tx_queue = 0; // bytes sent and not yet acknowledged
    unsigned long rx_queue = 0; // bytes received and not yet read by the process
    std::string inode;          // names the socket in /proc/PID/fd ("socket:[inode]")
};

// The socket whose local port is `local` and remote port `remote`, or nullopt.
std::optional<ProcNetTcpRow> find_tcp_socket(std::uint16_t local, std::uint16_t remote);

} // namespace portico::test
