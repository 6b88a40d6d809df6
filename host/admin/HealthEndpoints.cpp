// HealthEndpoints.cpp — GET /health (the process answers) and GET /ready
// (every service is bound and the host is not stopping), for probes.
#include "admin/AdminEndpoints.h"
#include "admin/StatusSnapshot.h"

namespace portico::host {

AdminReply serve_health(AdminContext &) {
    return text_reply(200, "ok\n");
}

AdminReply serve_ready(AdminContext &context) {
    if (!context.accepting.load()) return text_reply(503, "not ready: the host is starting or stopping\n");
    if (!services_ready(context.host)) return text_reply(503, "not ready: not every service is bound\n");
    return text_reply(200, "ready\n");
}

} // namespace portico::host
