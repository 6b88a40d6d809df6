// StatusEndpoints.cpp — GET /status (JSON), GET /metrics (Prometheus text)
// and GET / (the status page); all read one snapshot of the host.
#include "admin/AdminEndpoints.h"
#include "admin/PrometheusText.h"
#include "admin/StatusJson.h"
#include "admin/StatusPage.h"
#include "app/Host.h"

namespace portico::host {
namespace {

StatusSnapshot snapshot(AdminContext &context) {
    return take_snapshot(context.host, context.host.reload_history(), context.started_at, context.accepting.load());
}

} // namespace

AdminReply serve_status(AdminContext &context) {
    AdminReply reply;
    reply.content_type = "application/json";
    reply.body = status_json(snapshot(context));
    return reply;
}

AdminReply serve_metrics(AdminContext &context) {
    AdminReply reply;
    reply.content_type = "text/plain; version=0.0.4; charset=utf-8";
    reply.body = prometheus_text(snapshot(context));
    return reply;
}

AdminReply serve_status_page() {
    AdminReply reply;
    reply.content_type = "text/html; charset=utf-8";
    reply.body = std::string(status_page_html());
    return reply;
}

} // namespace portico::host
