// ProxyHeaders.cpp — v1 and v2 headers written byte by byte after the spec,
// independently of the host's parser and writer.
#include "harness/ProxyHeaders.h"

#include "harness/HarnessError.h"

#include <arpa/inet.h>

namespace portico::test {
namespace {

const std::string kV2Signature("\r\n\r\n\0\r\nQUIT\n", 12);

void put_u16(std::string &out, std::uint16_t value) {
    out += static_cast<char>(value >> 8);
    out += static_cast<char>(value & 0xFF);
}

void put_ipv4(std::string &out, const std::string &address) {
    in_addr parsed{};
    if (::inet_pton(AF_INET, address.c_str(), &parsed) != 1) throw HarnessError("not an IPv4 address: " + address);
    out.append(reinterpret_cast<const char *>(&parsed.s_addr), 4); // network order already
}

} // namespace

std::string proxy_v1(const std::string &source, std::uint16_t source_port, const std::string &destination,
                     std::uint16_t destination_port) {
    return "PROXY TCP4 " + source + " " + destination + " " + std::to_string(source_port) + " " +
           std::to_string(destination_port) + "\r\n";
}

std::string proxy_v2(const std::string &source, std::uint16_t source_port, const std::string &destination,
                     std::uint16_t destination_port, std::size_t padding) {
    std::string body;
    put_ipv4(body, source);
    put_ipv4(body, destination);
    put_u16(body, source_port);
    put_u16(body, destination_port);
    if (padding > 0) {
        if (padding > 65535 - body.size() - 3) throw HarnessError("proxy_v2: padding too large for one header");
        body += static_cast<char>(0x04); // PP2_TYPE_NOOP
        put_u16(body, static_cast<std::uint16_t>(padding));
        body.append(padding, '\0');
    }
    std::string out = kV2Signature;
    out += static_cast<char>(0x21); // version 2, PROXY
    out += static_cast<char>(0x11); // AF_INET, STREAM
    put_u16(out, static_cast<std::uint16_t>(body.size()));
    return out + body;
}

std::string proxy_v2_local() {
    std::string out = kV2Signature;
    out += static_cast<char>(0x20); // version 2, LOCAL
    out += static_cast<char>(0x00); // AF_UNSPEC
    put_u16(out, 0);
    return out;
}

std::string to_hex(const std::string &bytes) {
    static const char digits[] = "0123456789abcdef";
    std::string out;
    for (const char c : bytes) {
        const auto byte = static_cast<unsigned char>(c);
        out += digits[byte >> 4];
        out += digits[byte & 0xF];
    }
    return out;
}

} // namespace portico::test
