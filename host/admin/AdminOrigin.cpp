// AdminOrigin.cpp — Host and Origin checks of admin requests.
#include "admin/AdminOrigin.h"

#include "admin/AdminHttp.h"

#include <algorithm>
#include <cctype>

#include <arpa/inet.h>

namespace portico::host {
namespace {

bool iequals(std::string_view a, std::string_view b) {
    return a.size() == b.size() && std::equal(a.begin(), a.end(), b.begin(), [](char x, char y) {
               return std::tolower(static_cast<unsigned char>(x)) == std::tolower(static_cast<unsigned char>(y));
           });
}

bool is_port(std::string_view text) {
    return !text.empty() && text.size() <= 5 &&
           std::all_of(text.begin(), text.end(), [](char c) { return c >= '0' && c <= '9'; });
}

// The host part of "host", "host:port", "[v6]" or "[v6]:port"; nullopt if malformed.
std::optional<std::string> host_part(std::string_view header) {
    if (header.starts_with('[')) {
        const auto close = header.find(']');
        if (close == std::string_view::npos) return std::nullopt;
        const std::string_view rest = header.substr(close + 1);
        if (!rest.empty() && !(rest.front() == ':' && is_port(rest.substr(1)))) return std::nullopt;
        return std::string(header.substr(1, close - 1));
    }
    const auto colon = header.find(':');
    if (colon != std::string_view::npos && !is_port(header.substr(colon + 1))) return std::nullopt;
    return std::string(header.substr(0, colon));
}

bool is_ip_literal(const std::string &host) {
    unsigned char buffer[16];
    return ::inet_pton(AF_INET, host.c_str(), buffer) == 1 || ::inet_pton(AF_INET6, host.c_str(), buffer) == 1;
}

} // namespace

std::optional<std::string> check_host_header(std::string_view host_header, const std::vector<std::string> &names) {
    const auto host = host_part(host_header);
    if (!host || host->empty())
        return "bad Host header '" + printable_excerpt(host_header, 100) + "': expected host or host:port";
    if (is_ip_literal(*host) || iequals(*host, "localhost")) return std::nullopt;
    for (const std::string &name : names)
        if (iequals(*host, name)) return std::nullopt;
    return "the Host header names '" + printable_excerpt(*host, 100) +
           "', which is not this admin server: use its IP address or localhost, or list the name in admin.hosts";
}

bool origin_is_same(std::string_view origin, std::string_view host_header) {
    for (const std::string_view scheme : {"http://", "https://"})
        if (origin.size() == scheme.size() + host_header.size() && iequals(origin.substr(0, scheme.size()), scheme) &&
            iequals(origin.substr(scheme.size()), host_header))
            return true;
    return false;
}

} // namespace portico::host
