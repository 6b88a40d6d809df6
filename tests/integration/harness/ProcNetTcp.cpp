// ProcNetTcp.cpp — the row format: "sl local_address rem_address st
// tx_queue:rx_queue tr:tm->when retrnsmt uid timeout inode …", addresses as
// hex "0100007F:1F90" (IPv4) or 32 hex digits (IPv6), the port after ':'.
#include "harness/ProcNetTcp.h"

#include <fstream>
#include <sstream>

namespace portico::test {
namespace {

std::optional<std::uint16_t> port_of(const std::string &address) {
    const auto colon = address.rfind(':');
    if (colon == std::string::npos) return std::nullopt;
    return static_cast<std::uint16_t>(std::stoul(address.substr(colon + 1), nullptr, 16));
}

} // namespace

std::optional<ProcNetTcpRow> find_tcp_socket(std::uint16_t local, std::uint16_t remote) {
    for (const char *table : {"/proc/net/tcp", "/proc/net/tcp6"}) {
        std::ifstream in(table);
        std::string line;
        std::getline(in, line); // header
        while (std::getline(in, line)) {
            std::istringstream fields(line);
            std::string slot, local_addr, remote_addr, state, queues, timer, retransmits, uid, timeout, inode;
            if (!(fields >> slot >> local_addr >> remote_addr >> state >> queues >> timer >> retransmits >> uid >>
                  timeout >> inode))
                continue;
            if (port_of(local_addr) != local || port_of(remote_addr) != remote) continue;
            const auto colon = queues.find(':');
            if (colon == std::string::npos) continue;
            return ProcNetTcpRow{std::stoul(queues.substr(0, colon), nullptr, 16),
                                 std::stoul(queues.substr(colon + 1), nullptr, 16), inode};
        }
    }
    return std::nullopt;
}

} // namespace portico::test
