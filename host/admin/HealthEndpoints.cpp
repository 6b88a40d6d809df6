// HealthEndpoints.cpp — GET /health (the process answers) and GET /ready
// (every service is bound and nothing holds readiness down), for probes.
#include "admin/AdminEndpoints.h"
#include "admin/StatusSnapshot.h"
#include "app/Host.h"

namespace portico::host {

AdminReply serve_health(AdminContext &) {
    return text_reply(200, "ok\n");
}

AdminReply serve_ready(AdminContext &context) {
    // The host's own reason first: a balancer's operator reads why.
    if (const std::string reason = context.host.not_ready_reason(); !reason.empty())
        return text_reply(503, "not ready: " + reason + "\n");
    if (!context.accepting.load()) return text_reply(503, "not ready: the admin server is stopping\n");
    if (!services_ready(context.host)) return text_reply(503, "not ready: not every service is bound\n");
    return text_reply(200, "ready\n");
}

} // namespace portico::host
