// ProxyHeaders.h — the PROXY protocol headers a test client writes itself
// (HAProxy's spec, v1 text and v2 binary), to stand in for a load balancer
// from any 127/8 source, and to send the broken ones a real proxy never would.
#pragma once

#include <cstdint>
#include <string>

namespace portico::test {

// "PROXY TCP4 <src> <dst> <sport> <dport>\r\n"
std::string proxy_v1(const std::string &source, std::uint16_t source_port, const std::string &destination,
                     std::uint16_t destination_port);
// v2 PROXY, TCP over IPv4; a NOOP TLV with `padding` bytes of value grows
// it (at most 65535 - 15), for the oversized case.
std::string proxy_v2(const std::string &source, std::uint16_t source_port, const std::string &destination,
                     std::uint16_t destination_port, std::size_t padding = 0);
// v2 LOCAL (a proxy's own health check): no addresses.
std::string proxy_v2_local();
// Bytes as lower-case hex, for TlsClient's --proxy-header.
std::string to_hex(const std::string &bytes);

} // namespace portico::test
