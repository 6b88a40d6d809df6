// SocketOption.cpp — the options `socket_options:` knows by name: integer
// options only (setsockopt with an int), the ones operators tune.
#include "config/SocketOption.h"

#include <array>

#include <netinet/in.h>
#include <netinet/ip.h>
#include <netinet/tcp.h>
#include <sys/socket.h>

namespace portico::host {
namespace {

constexpr std::array<std::string_view, 4> kLevels{"SOL_SOCKET", "IPPROTO_TCP", "IPPROTO_IP", "IPPROTO_IPV6"};

// {level, name, level value, name value, TCP only, IP only}
constexpr std::array<KnownSocketOption, 21> kOptions{{
    {"SOL_SOCKET", "SO_KEEPALIVE", SOL_SOCKET, SO_KEEPALIVE, false, false},
    {"SOL_SOCKET", "SO_RCVBUF", SOL_SOCKET, SO_RCVBUF, false, false},
    {"SOL_SOCKET", "SO_SNDBUF", SOL_SOCKET, SO_SNDBUF, false, false},
    {"SOL_SOCKET", "SO_RCVLOWAT", SOL_SOCKET, SO_RCVLOWAT, false, false},
    {"SOL_SOCKET", "SO_PRIORITY", SOL_SOCKET, SO_PRIORITY, false, false},
    {"SOL_SOCKET", "SO_MARK", SOL_SOCKET, SO_MARK, false, false},
    {"SOL_SOCKET", "SO_BROADCAST", SOL_SOCKET, SO_BROADCAST, false, false},
    {"IPPROTO_TCP", "TCP_NODELAY", IPPROTO_TCP, TCP_NODELAY, true, true},
    {"IPPROTO_TCP", "TCP_KEEPIDLE", IPPROTO_TCP, TCP_KEEPIDLE, true, true},
    {"IPPROTO_TCP", "TCP_KEEPINTVL", IPPROTO_TCP, TCP_KEEPINTVL, true, true},
    {"IPPROTO_TCP", "TCP_KEEPCNT", IPPROTO_TCP, TCP_KEEPCNT, true, true},
    {"IPPROTO_TCP", "TCP_USER_TIMEOUT", IPPROTO_TCP, TCP_USER_TIMEOUT, true, true},
    {"IPPROTO_TCP", "TCP_NOTSENT_LOWAT", IPPROTO_TCP, TCP_NOTSENT_LOWAT, true, true},
    {"IPPROTO_TCP", "TCP_DEFER_ACCEPT", IPPROTO_TCP, TCP_DEFER_ACCEPT, true, true},
    {"IPPROTO_TCP", "TCP_FASTOPEN", IPPROTO_TCP, TCP_FASTOPEN, true, true},
    {"IPPROTO_TCP", "TCP_MAXSEG", IPPROTO_TCP, TCP_MAXSEG, true, true},
    {"IPPROTO_TCP", "TCP_QUICKACK", IPPROTO_TCP, TCP_QUICKACK, true, true},
    {"IPPROTO_IP", "IP_TOS", IPPROTO_IP, IP_TOS, false, true},
    {"IPPROTO_IP", "IP_TTL", IPPROTO_IP, IP_TTL, false, true},
    {"IPPROTO_IPV6", "IPV6_TCLASS", IPPROTO_IPV6, IPV6_TCLASS, false, true},
    {"IPPROTO_IPV6", "IPV6_UNICAST_HOPS", IPPROTO_IPV6, IPV6_UNICAST_HOPS, false, true},
}};

} // namespace

std::span<const KnownSocketOption> known_socket_options() {
    return kOptions;
}

std::span<const std::string_view> socket_option_levels() {
    return kLevels;
}

} // namespace portico::host
