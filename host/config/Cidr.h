// Cidr.h — a parsed entry of an `allow:` or `deny:` list: an IPv4 or IPv6
// network ("10.0.0.0/8", "::1/128"), or one address written without a prefix.
#pragma once

#include <array>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

namespace portico::host {

struct Cidr {
    bool v6 = false;
    // Network bytes, host bits cleared; IPv4 uses the first 4.
    std::array<uint8_t, 16> bytes{};
    int prefix = 0; // 0..32 for IPv4, 0..128 for IPv6

    // "10.0.0.0/8", "::1/128"
    std::string to_string() const;
    bool operator==(const Cidr &) const = default;

    // Parses "ADDRESS" or "ADDRESS/PREFIX". Host bits set below the prefix
    // ("10.1.2.3/8") are refused: they usually mean a typo in the prefix. On
    // failure returns nullopt and sets *error to what a valid value looks like.
    static std::optional<Cidr> parse(std::string_view text, std::string *error);
};

} // namespace portico::host
