// UpgradeEndpoint.cpp — POST /upgrade: starts the binary on disk with this
// host's sockets and answers once it serves (200) or why it could not (422);
// the body is a reload record with scope "upgrade".
#include "admin/AdminEndpoints.h"
#include "app/Host.h"

namespace portico::host {

AdminReply serve_upgrade(AdminContext &context) {
    return reload_report_reply(context.host.upgrade("admin"), "upgrade");
}

} // namespace portico::host
