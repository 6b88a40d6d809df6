// UpgradeEndpoint.cpp — POST /upgrade: starts the binary on disk with this
// host's sockets and answers once it serves (200) or why it could not (422);
// the body is a reload record with scope "upgrade".
#include "admin/AdminEndpoints.h"
#include "admin/StatusJson.h"
#include "app/Host.h"

namespace portico::host {

AdminReply serve_upgrade(AdminContext &context) {
    const ReloadReport report = context.host.upgrade("admin");
    ReloadRecord record;
    record.at = std::chrono::system_clock::now();
    record.scope = "upgrade";
    record.trigger = "admin";
    record.changes = report.changes;
    record.errors = report.errors;
    AdminReply reply;
    reply.status = report.ok() ? 200 : 422;
    reply.content_type = "application/json";
    reply.body = reload_json(record);
    return reply;
}

} // namespace portico::host
