// SocketQueues.cpp — parsing tx_queue/rx_queue out of /proc/net/tcp{,6}.
#include "harness/SocketQueues.h"

#include <cstdint>
#include <fstream>
#include <optional>
#include <sstream>
#include <string>

namespace portico::test {

namespace {

struct Queues {
    unsigned long tx = 0;
    unsigned long rx = 0;
};

// "0100007F:1F90" (IPv4) or a 32-digit IPv6 address: the port is after ':'.
std::optional<std::uint16_t> port_of(const std::string &address) {
    const auto colon = address.rfind(':');
    if (colon == std::string::npos) return std::nullopt;
    return static_cast<std::uint16_t>(std::stoul(address.substr(colon + 1), nullptr, 16));
}

// The queues of the socket whose local port is `local` and remote port is `remote`.
std::optional<Queues> find_socket(std::uint16_t local, std::uint16_t remote) {
    for (const char *table : {"/proc/net/tcp", "/proc/net/tcp6"}) {
        std::ifstream in(table);
        std::string line;
        std::getline(in, line); // header
        while (std::getline(in, line)) {
            std::istringstream fields(line);
            std::string slot, local_addr, remote_addr, state, queues;
            if (!(fields >> slot >> local_addr >> remote_addr >> state >> queues)) continue;
            if (port_of(local_addr) != local || port_of(remote_addr) != remote) continue;
            const auto colon = queues.find(':');
            if (colon == std::string::npos) continue;
            return Queues{std::stoul(queues.substr(0, colon), nullptr, 16),
                          std::stoul(queues.substr(colon + 1), nullptr, 16)};
        }
    }
    return std::nullopt;
}

} // namespace

bool server_has_read_all(const TcpClient &client) {
    const auto mine = find_socket(client.local_port(), client.remote_port());
    const auto theirs = find_socket(client.remote_port(), client.local_port());
    return mine && theirs && mine->tx == 0 && theirs->rx == 0;
}

bool wait_server_read_all(const TcpClient &client, Millis timeout) {
    return wait_until([&] { return server_has_read_all(client); }, timeout);
}

} // namespace portico::test
