// Cidr.cpp — parsing and printing allow/deny networks with inet_pton/ntop,
// so every textual form the C library accepts (compressed IPv6, …) works.
#include "config/Cidr.h"

#include <charconv>

#include <arpa/inet.h>

namespace portico::host {
namespace {

std::string expected(std::string_view got) {
    return "expected an IP address or network like 127.0.0.1, 10.0.0.0/8 or ::1/128, got '" + std::string(got) + "'";
}

bool fail(std::string *error, std::string message) {
    if (error)
        *error = std::move(message);
    return false;
}

// True if every bit of `bytes` from bit `prefix` on is zero.
bool host_bits_clear(const std::array<uint8_t, 16> &bytes, int prefix, int width) {
    for (int bit = prefix; bit < width; ++bit)
        if (bytes[bit / 8] & (0x80 >> (bit % 8)))
            return false;
    return true;
}

} // namespace

std::string Cidr::to_string() const {
    char text[INET6_ADDRSTRLEN] = {};
    ::inet_ntop(v6 ? AF_INET6 : AF_INET, bytes.data(), text, sizeof text);
    return std::string(text) + "/" + std::to_string(prefix);
}

std::optional<Cidr> Cidr::parse(std::string_view text, std::string *error) {
    const std::size_t slash = text.find('/');
    const std::string address(text.substr(0, slash));
    Cidr cidr;
    if (::inet_pton(AF_INET, address.c_str(), cidr.bytes.data()) == 1) {
        cidr.v6 = false;
    } else if (::inet_pton(AF_INET6, address.c_str(), cidr.bytes.data()) == 1) {
        cidr.v6 = true;
    } else {
        fail(error, expected(text));
        return std::nullopt;
    }
    const int width = cidr.v6 ? 128 : 32;
    cidr.prefix = width;
    if (slash != std::string_view::npos) {
        const std::string_view digits = text.substr(slash + 1);
        int prefix = -1;
        const auto [end, ec] = std::from_chars(digits.data(), digits.data() + digits.size(), prefix);
        if (digits.empty() || ec != std::errc{} || end != digits.data() + digits.size() || prefix < 0 ||
            prefix > width) {
            fail(error, "bad prefix length in '" + std::string(text) + "': expected /0 to /" + std::to_string(width) +
                            " for an " + (cidr.v6 ? "IPv6" : "IPv4") + " network");
            return std::nullopt;
        }
        cidr.prefix = prefix;
    }
    if (!host_bits_clear(cidr.bytes, cidr.prefix, width)) {
        Cidr network = cidr;
        for (int bit = cidr.prefix; bit < width; ++bit)
            network.bytes[bit / 8] &= static_cast<uint8_t>(~(0x80 >> (bit % 8)));
        fail(error, "'" + std::string(text) + "' has host bits set below its /" + std::to_string(cidr.prefix) +
                        " prefix: did you mean " + network.to_string() + "?");
        return std::nullopt;
    }
    return cidr;
}

} // namespace portico::host
