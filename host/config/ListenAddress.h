// ListenAddress.h — a parsed `listen:` value: host:port, [v6]:port or unix:/path.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

namespace portico::host {

struct ListenAddress {
    enum class Kind { inet, unix_path };
    Kind kind = Kind::inet;
    std::string host; // literal IPv4/IPv6 address or "localhost"/name; "0.0.0.0", "::" for any
    uint16_t port = 0; // 0: any free port
    std::string path;  // for unix: addresses

    bool is_v6() const;
    // "127.0.0.1:9999", "[::1]:9999", "unix:/run/x.sock"
    std::string to_string() const;
    bool operator==(const ListenAddress &) const = default;

    // Parses text; on failure returns nullopt and sets *error to a sentence
    // saying what is wrong and what a valid value looks like.
    static std::optional<ListenAddress> parse(std::string_view text, std::string *error);
};

} // namespace portico::host
