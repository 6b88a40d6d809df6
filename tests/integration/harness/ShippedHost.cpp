// ShippedHost.cpp — each host gets private copies of the plugins
// (make_plugin_dir), so no test sees another's files.
#include "harness/ShippedHost.h"

#include "harness/Paths.h"
#include "harness/PluginDir.h"

namespace portico::test {

std::unique_ptr<PorticoProcess> start_shipped(const TempDir &dir,
                                              const std::function<void(ConfigBuilder &)> &add_services) {
    ConfigBuilder config;
    config.plugin_dir(make_plugin_dir(dir, {shipped_plugin("echo"), shipped_plugin("upper"),
                                            shipped_plugin("threadname"), shipped_plugin("http_hello")}));
    add_services(config);
    return std::make_unique<PorticoProcess>(dir, config.yaml());
}

std::unique_ptr<PorticoProcess> start_upper(const TempDir &dir, const std::function<void(ServiceSpec &)> &tune) {
    ConfigBuilder config;
    config.plugin_dir(make_plugin_dir(dir, {shipped_plugin("upper")}));
    ServiceSpec &service = config.service("upper", "upper.upper");
    if (tune) tune(service);
    return std::make_unique<PorticoProcess>(dir, config.yaml());
}

} // namespace portico::test
