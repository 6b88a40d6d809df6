// ProxyHeaderWrite.cpp — writing PROXY protocol v1 and v2 headers (for tests
// and a future client side) and the CRC32c that v2's checksum TLV carries.
#include "net/ProxyHeader.h"

#include <arpa/inet.h>

#include <array>
#include <stdexcept>

namespace portico::host {
namespace {

void append_u16(std::string &out, std::size_t value) {
    out += static_cast<char>((value >> 8) & 0xFF);
    out += static_cast<char>(value & 0xFF);
}

void append_address(std::string &out, const Poco::Net::SocketAddress &address, std::size_t size) {
    const Poco::Net::IPAddress host = address.host(); // a copy: addr() points into it
    if (host.length() != size) throw std::invalid_argument("PROXY v2: address family does not match");
    out.append(static_cast<const char *>(host.addr()), size);
}

void append_path(std::string &out, const std::string &path) {
    if (path.size() > 108) throw std::invalid_argument("PROXY v2: unix path longer than 108 bytes");
    out += path;
    out.append(108 - path.size(), '\0');
}

// inet_ntop, not IPAddress::toString: Poco prints the IPv4-compatible
// ::0.0.114.114 as "::", which would name another address.
std::string text_of(const Poco::Net::SocketAddress &address) {
    const Poco::Net::IPAddress host = address.host();
    std::array<char, INET6_ADDRSTRLEN> text{};
    const int family = host.family() == Poco::Net::IPAddress::IPv6 ? AF_INET6 : AF_INET;
    if (inet_ntop(family, host.addr(), text.data(), static_cast<socklen_t>(text.size())) == nullptr)
        throw std::invalid_argument("PROXY v1: address cannot be written");
    return text.data();
}

} // namespace

uint32_t crc32c(std::string_view bytes) {
    uint32_t crc = 0xFFFFFFFF;
    for (const char c : bytes) {
        crc ^= static_cast<uint8_t>(c);
        for (int bit = 0; bit < 8; ++bit)
            crc = (crc >> 1) ^ (0x82F63B78 & (0 - (crc & 1)));
    }
    return ~crc;
}

std::string serialize_proxy_v1(const ProxyHeader &header) {
    const bool tcp = header.command == ProxyCommand::proxy && header.source && header.destination &&
                     (header.family == ProxyFamily::tcp4 || header.family == ProxyFamily::tcp6);
    if (!tcp) return "PROXY UNKNOWN\r\n";
    return std::string("PROXY ") + (header.family == ProxyFamily::tcp4 ? "TCP4 " : "TCP6 ") + text_of(*header.source) +
           " " + text_of(*header.destination) + " " + std::to_string(header.source->port()) + " " +
           std::to_string(header.destination->port()) + "\r\n";
}

std::string serialize_proxy_v2(const ProxyHeader &header) {
    std::string out("\r\n\r\n\0\r\nQUIT\n", 12);
    const bool local = header.command == ProxyCommand::local;
    out += static_cast<char>(local ? 0x20 : 0x21);
    std::string body;
    uint8_t family_transport = 0x00;
    if (!local && header.family == ProxyFamily::tcp4 && header.source && header.destination) {
        family_transport = 0x11;
        append_address(body, *header.source, 4);
        append_address(body, *header.destination, 4);
    } else if (!local && header.family == ProxyFamily::tcp6 && header.source && header.destination) {
        family_transport = 0x21;
        append_address(body, *header.source, 16);
        append_address(body, *header.destination, 16);
    } else if (!local && header.family == ProxyFamily::unix_stream) {
        family_transport = 0x31;
        append_path(body, header.source_path);
        append_path(body, header.destination_path);
    }
    if (family_transport == 0x11 || family_transport == 0x21) {
        append_u16(body, header.source->port());
        append_u16(body, header.destination->port());
    }
    out += static_cast<char>(family_transport);
    // A receiver skips the block of AF_UNSPEC and LOCAL headers, TLVs too.
    std::size_t crc_at = std::string::npos;
    if (family_transport != 0x00) {
        for (const ProxyTlv &tlv : header.tlvs) {
            if (tlv.value.size() > 0xFFFF) throw std::invalid_argument("PROXY v2: TLV longer than 65535 bytes");
            body += static_cast<char>(tlv.type);
            if (tlv.type == proxy_tlv::crc32c) {
                append_u16(body, 4);
                crc_at = 16 + body.size();
                body.append(4, '\0');
            } else {
                append_u16(body, tlv.value.size());
                body += tlv.value;
            }
        }
    }
    if (body.size() > 0xFFFF) throw std::invalid_argument("PROXY v2: header longer than 16 + 65535 bytes");
    append_u16(out, body.size());
    out += body;
    if (crc_at != std::string::npos) {
        const uint32_t crc = crc32c(out);
        for (int i = 0; i < 4; ++i)
            out[crc_at + static_cast<std::size_t>(i)] = static_cast<char>(crc >> (24 - 8 * i));
    }
    return out;
}

} // namespace portico::host
