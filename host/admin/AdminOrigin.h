// AdminOrigin.h — whom the admin server answers: the Host header must name
// this server (an IP literal, localhost or a name in admin.hosts), and a
// state-changing request's Origin must be the server's own, so a web page the
// operator opens cannot drive it (cross-site request, DNS rebinding).
#pragma once

#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace portico::host {

// nullopt when `host_header` (the Host header's value) names this server;
// else the reason, safe to send back. An IP literal cannot be a rebound DNS
// name, so any is accepted; names must be "localhost" or in `names`.
std::optional<std::string> check_host_header(std::string_view host_header, const std::vector<std::string> &names);

// Whether `origin` (an Origin header) is this server's own origin, that is
// http:// or https:// followed by the request's Host header.
bool origin_is_same(std::string_view origin, std::string_view host_header);

} // namespace portico::host
