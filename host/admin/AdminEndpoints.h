// AdminEndpoints.h — the admin API without the HTTP server around it: a
// request is method, path, query and Authorization header; a reply is status,
// content type and body. AdminServer adapts Poco's request/response to this,
// so routing, auth and every endpoint can be tested directly.
#pragma once

#include <atomic>
#include <chrono>
#include <map>
#include <optional>
#include <string>
#include <utility>
#include <vector>

namespace portico::host {

class Host;
enum class ReloadScope;
struct ReloadReport;

struct AdminContext {
    AdminContext(Host &h, std::string t) : host(h), token(std::move(t)) {}
    Host &host;
    const std::string token; // empty: no auth
    const std::chrono::system_clock::time_point started_at = std::chrono::system_clock::now();
    std::atomic<bool> accepting{false}; // false before start and once shutdown began
    // Host names besides IP literals and localhost that requests may carry (admin.hosts).
    std::vector<std::string> host_names;
    // False on a unix socket, which no browser can reach: Host is not checked there.
    bool check_host = true;
};

struct AdminRequest {
    std::string method;
    std::string path;
    std::map<std::string, std::string> query;
    std::string authorization;         // the header's value, "" when absent
    std::optional<std::string> host;   // the Host header
    std::optional<std::string> origin; // the Origin header
};

struct AdminReply {
    int status = 200;
    std::string content_type = "text/plain; charset=utf-8";
    std::string body;
    std::vector<std::pair<std::string, std::string>> headers;
};

AdminReply route_admin_request(AdminContext &context, const AdminRequest &request);

// One group per file: HealthEndpoints.cpp, StatusEndpoints.cpp, ReloadEndpoint.cpp.
AdminReply serve_health(AdminContext &context);
AdminReply serve_ready(AdminContext &context);
AdminReply serve_status(AdminContext &context);
AdminReply serve_metrics(AdminContext &context);
AdminReply serve_status_page();
AdminReply serve_reload(AdminContext &context, const AdminRequest &request);
// POST /upgrade: answers once the new binary serves (200) or failed (422).
AdminReply serve_upgrade(AdminContext &context);
// What /reload and /upgrade answer: the report as a reload record (200 when
// it went through, 422 when something was refused).
AdminReply reload_report_reply(const ReloadReport &report, std::string scope);

std::optional<ReloadScope> parse_reload_scope(const std::string &text);

AdminReply text_reply(int status, std::string body);

} // namespace portico::host
