// AdminRouter.cpp — which endpoint answers, which methods it takes, and the
// Host/Origin and token checks. /health, /ready and the page itself are open (probes, and the
// page holds no data); everything that shows or changes state needs the token.
#include "admin/AdminAuth.h"
#include "admin/AdminEndpoints.h"
#include "admin/AdminHttp.h"
#include "admin/AdminOrigin.h"

#include <array>
#include <string_view>

namespace portico::host {
namespace {

struct Route {
    std::string_view path;
    std::string_view method; // the one method it answers (HEAD too for GET)
    bool needs_token;
};

constexpr std::array<Route, 7> kRoutes{{
    {"/health", "GET", false},
    {"/ready", "GET", false},
    {"/", "GET", false},
    {"/status", "GET", true},
    {"/metrics", "GET", true},
    {"/reload", "POST", true},
    {"/upgrade", "POST", true},
}};

AdminReply dispatch(AdminContext &context, const AdminRequest &request) {
    const std::string &path = request.path;
    if (path == "/health") return serve_health(context);
    if (path == "/ready") return serve_ready(context);
    if (path == "/") return serve_status_page();
    if (path == "/status") return serve_status(context);
    if (path == "/metrics") return serve_metrics(context);
    if (path == "/upgrade") return serve_upgrade(context);
    return serve_reload(context, request);
}

} // namespace

AdminReply text_reply(int status, std::string body) {
    AdminReply reply;
    reply.status = status;
    reply.body = std::move(body);
    return reply;
}

// Refuses requests a browser could be tricked into sending: a foreign Host
// (DNS rebinding) or a state-changing request from another origin.
std::optional<AdminReply> refuse_foreign(const AdminContext &context, const AdminRequest &request) {
    if (context.check_host && request.host)
        if (auto reason = check_host_header(*request.host, context.host_names)) return text_reply(421, *reason + "\n");
    const bool safe = request.method == "GET" || request.method == "HEAD";
    if (!safe && request.origin && !(request.host && origin_is_same(*request.origin, *request.host)))
        return text_reply(403, "cross-origin " + printable_excerpt(request.method, 20) + " refused: Origin '" +
                                   printable_excerpt(*request.origin, 100) +
                                   "' is not this admin server; use portico reload, curl or the status page\n");
    return std::nullopt;
}

AdminReply route_admin_request(AdminContext &context, const AdminRequest &request) {
    if (auto refused = refuse_foreign(context, request)) return std::move(*refused);
    const std::string path = request.path.size() > 1 && request.path.ends_with('/')
                                 ? request.path.substr(0, request.path.size() - 1)
                                 : request.path;
    for (const Route &route : kRoutes) {
        if (route.path != path) continue;
        const bool method_ok = request.method == route.method || (route.method == "GET" && request.method == "HEAD");
        if (!method_ok) {
            AdminReply reply = text_reply(405, printable_excerpt(path) + " takes " + std::string(route.method) + "\n");
            reply.headers.emplace_back("Allow", route.method == "GET" ? "GET, HEAD" : std::string(route.method));
            return reply;
        }
        if (route.needs_token && !bearer_matches(request.authorization, context.token)) {
            AdminReply reply = text_reply(401, "missing or wrong admin token: send 'Authorization: Bearer <token>' "
                                               "(admin.token or $PORTICO_ADMIN_TOKEN)\n");
            reply.headers.emplace_back("WWW-Authenticate", "Bearer realm=\"portico\"");
            return reply;
        }
        AdminRequest normalized = request;
        normalized.path = path;
        return dispatch(context, normalized);
    }
    return text_reply(404, "no such admin endpoint: " + printable_excerpt(request.path) +
                               " (try /, /health, /ready, /status, /metrics, POST /reload, POST /upgrade)\n");
}

} // namespace portico::host
