// ListenAddress.cpp — parses `listen:` values. Literal IPs are validated here;
// host names are kept as text and resolved when the service binds.
#include "config/ListenAddress.h"

#include <arpa/inet.h>

#include <charconv>

namespace portico::host {
namespace {

constexpr std::string_view kForms = "expected host:port, [v6]:port or unix:/path";
constexpr std::string_view kUnixPrefix = "unix:";

std::optional<ListenAddress> fail(std::string *error, std::string message) {
    if (error)
        *error = std::move(message);
    return std::nullopt;
}

std::string bad_address(std::string_view text) { return "bad address '" + std::string(text) + "': " + std::string(kForms); }

bool is_v4_literal(const std::string &host) {
    in_addr out{};
    return inet_pton(AF_INET, host.c_str(), &out) == 1;
}

bool is_v6_literal(const std::string &host) {
    in6_addr out{};
    return inet_pton(AF_INET6, host.c_str(), &out) == 1;
}

bool looks_numeric(std::string_view host) { return host.find_first_not_of("0123456789.") == std::string_view::npos; }

// RFC 1123 host name: labels of letters, digits and '-', joined by '.'.
bool is_host_name(std::string_view host) {
    if (host.empty() || host.size() > 253)
        return false;
    std::size_t label = 0;
    for (std::size_t i = 0; i <= host.size(); ++i) {
        if (i == host.size() || host[i] == '.') {
            if (label == 0 || label > 63 || host[i - 1] == '-' || host[i - label] == '-')
                return false;
            label = 0;
            continue;
        }
        const char c = host[i];
        const bool ok = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '-';
        if (!ok)
            return false;
        ++label;
    }
    return true;
}

bool parse_port(std::string_view port_text, std::string_view whole, uint16_t &port, std::string *error) {
    if (port_text.empty()) {
        fail(error, "missing port in '" + std::string(whole) + "': write e.g. 127.0.0.1:9000 (0 picks a free port)");
        return false;
    }
    unsigned long value = 0;
    const char *const end = port_text.data() + port_text.size();
    const auto [rest, ec] = std::from_chars(port_text.data(), end, value);
    if (ec == std::errc::invalid_argument || rest != end) {
        fail(error, "bad port '" + std::string(port_text) + "' in '" + std::string(whole) +
                        "': expected a number 0-65535");
        return false;
    }
    if (ec == std::errc::result_out_of_range || value > 65535) {
        fail(error, "port " + std::string(port_text) + " is out of range 0-65535");
        return false;
    }
    port = static_cast<uint16_t>(value);
    return true;
}

std::optional<ListenAddress> parse_unix(std::string_view text, std::string *error) {
    ListenAddress address;
    address.kind = ListenAddress::Kind::unix_path;
    address.path = std::string(text.substr(kUnixPrefix.size()));
    if (address.path.empty())
        return fail(error, "empty unix socket path in '" + std::string(text) + "': write e.g. unix:/run/portico/echo.sock");
    return address;
}

std::optional<ListenAddress> parse_bracketed(std::string_view text, std::string *error) {
    const std::size_t close = text.find(']');
    if (close == std::string_view::npos || close + 1 >= text.size() || text[close + 1] != ':')
        return fail(error, bad_address(text));
    ListenAddress address;
    address.host = std::string(text.substr(1, close - 1));
    if (!is_v6_literal(address.host))
        return fail(error, "bad IPv6 address '" + address.host + "' in '" + std::string(text) +
                               "': write e.g. [::1]:9000 or [::]:9000");
    if (!parse_port(text.substr(close + 2), text, address.port, error))
        return std::nullopt;
    return address;
}

// "::1:9000" is ambiguous, so IPv6 must be bracketed; say how to write it.
std::string unbracketed_v6(std::string_view text, std::string_view host, std::string_view port) {
    if (is_v6_literal(std::string(host)))
        return "IPv6 address in '" + std::string(text) + "' needs brackets: write [" + std::string(host) + "]:" +
               std::string(port);
    if (is_v6_literal(std::string(text)))
        return "IPv6 address '" + std::string(text) + "' needs brackets and a port: write [" + std::string(text) +
               "]:9000";
    return bad_address(text);
}

std::optional<ListenAddress> parse_host_port(std::string_view text, std::string *error) {
    const std::size_t colon = text.rfind(':');
    if (colon == std::string_view::npos)
        return fail(error, bad_address(text));
    const std::string_view host = text.substr(0, colon);
    if (host.find(':') != std::string_view::npos)
        return fail(error, unbracketed_v6(text, host, text.substr(colon + 1)));
    ListenAddress address;
    // "*:80" and ":80" are the usual spellings of "every interface".
    address.host = host.empty() || host == "*" ? "0.0.0.0" : std::string(host);
    if (looks_numeric(address.host) ? !is_v4_literal(address.host) : !is_host_name(address.host))
        return fail(error, "bad host '" + address.host + "' in '" + std::string(text) +
                               "': expected an IPv4 address, a host name, * or [v6]");
    if (!parse_port(text.substr(colon + 1), text, address.port, error))
        return std::nullopt;
    return address;
}

} // namespace

bool ListenAddress::is_v6() const { return kind == Kind::inet && host.find(':') != std::string::npos; }

std::string ListenAddress::to_string() const {
    if (kind == Kind::unix_path)
        return std::string(kUnixPrefix) + path;
    const std::string port_text = std::to_string(port);
    return is_v6() ? "[" + host + "]:" + port_text : host + ":" + port_text;
}

std::optional<ListenAddress> ListenAddress::parse(std::string_view text, std::string *error) {
    if (text.empty())
        return fail(error, "empty address: " + std::string(kForms));
    if (text.starts_with(kUnixPrefix))
        return parse_unix(text, error);
    if (text.front() == '[')
        return parse_bracketed(text, error);
    return parse_host_port(text, error);
}

} // namespace portico::host
