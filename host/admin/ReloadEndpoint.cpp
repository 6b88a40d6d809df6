// ReloadEndpoint.cpp — POST /reload?scope=plugins|config|all (default all):
// runs the reload on this admin thread and answers with what changed or why
// nothing did; 200 when it went through, 422 when something was refused.
#include "admin/AdminEndpoints.h"
#include "admin/AdminHttp.h"
#include "admin/StatusJson.h"
#include "app/Host.h"

namespace portico::host {

std::optional<ReloadScope> parse_reload_scope(const std::string &text) {
    if (text == "plugins") return ReloadScope::plugins;
    if (text == "config") return ReloadScope::config;
    if (text == "all" || text.empty()) return ReloadScope::all;
    return std::nullopt;
}

AdminReply serve_reload(AdminContext &context, const AdminRequest &request) {
    const auto found = request.query.find("scope");
    const std::string text = found == request.query.end() ? std::string() : found->second;
    const auto scope = parse_reload_scope(text);
    if (!scope)
        return text_reply(400,
                          "unknown reload scope '" + printable_excerpt(text, 40) + "': use plugins, config or all\n");

    return reload_report_reply(context.host.reload(*scope, "admin"), to_string(*scope));
}

AdminReply reload_report_reply(const ReloadReport &report, std::string scope) {
    ReloadRecord record;
    record.at = std::chrono::system_clock::now();
    record.scope = std::move(scope);
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
