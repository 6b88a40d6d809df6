// ConfigDiff.cpp
#include "app/ConfigDiff.h"

#include <algorithm>

namespace portico::host {
namespace {

ServiceConfig without_positions(ServiceConfig c) {
    c.pos = c.name_pos = c.handler_pos = c.listen_pos = SourcePos{};
    for (SocketOptionConfig &option : c.socket_options)
        option.pos = SourcePos{};
    return c;
}

PluginsConfig without_positions(PluginsConfig c) {
    c.dir_pos = SourcePos{};
    return c;
}

const ServiceConfig *find(const Config &config, const std::string &name) {
    const auto it = std::find_if(config.services.begin(), config.services.end(),
                                 [&](const ServiceConfig &s) { return s.name == name; });
    return it == config.services.end() ? nullptr : &*it;
}

} // namespace

bool same_service(const ServiceConfig &a, const ServiceConfig &b) {
    return without_positions(a) == without_positions(b);
}

ConfigDiff diff_configs(const Config &before, const Config &after) {
    ConfigDiff diff;
    for (const ServiceConfig &svc : after.services) {
        const ServiceConfig *old = find(before, svc.name);
        if (old == nullptr)
            diff.added.push_back(svc.name);
        else if (same_service(*old, svc))
            diff.unchanged.push_back(svc.name);
        else
            diff.changed.push_back(svc.name);
    }
    for (const ServiceConfig &svc : before.services)
        if (find(after, svc.name) == nullptr) diff.removed.push_back(svc.name);
    diff.plugins_changed = !(without_positions(before.plugins) == without_positions(after.plugins));
    diff.logging_changed = !(before.logging == after.logging);
    AdminConfig a = before.admin, b = after.admin;
    diff.admin_changed = !(a.listen == b.listen && a.token == b.token);
    return diff;
}

} // namespace portico::host
