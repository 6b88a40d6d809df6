// DescribedPlugins.cpp — one service of another mode is enough to need the
// plugin's code in the host itself.
#include "app/DescribedPlugins.h"

namespace portico::host {

std::set<std::string> process_only_plugins(const Config &config) {
    std::set<std::string> process;
    std::set<std::string> in_host;
    for (const ServiceConfig &svc : config.services)
        (svc.mode == ServiceMode::process ? process : in_host).insert(svc.plugin);
    for (const std::string &name : in_host)
        process.erase(name);
    return process;
}

} // namespace portico::host
