// SocketOption.h — the table of socket options Portico knows by name, for
// a service's `socket_options:` list (ServiceConfig::socket_options): the
// config is validated against it before anything is bound.
#pragma once

#include <span>
#include <string>
#include <string_view>

namespace portico::host {

// A known option: its names and numbers, and which sockets it fits.
struct KnownSocketOption {
    std::string_view level;
    std::string_view name;
    int level_value;
    int name_value;
    bool tcp_only; // a TCP option: not for protocol udp
    bool ip_only;  // an IP-level option: not for a unix: socket
};

// Every option `socket_options:` accepts.
std::span<const KnownSocketOption> known_socket_options();
// The level names, for messages and suggestions.
std::span<const std::string_view> socket_option_levels();

} // namespace portico::host
