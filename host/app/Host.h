// Host.h — the running daemon: owns the config, the plugin registry and the
// services; starts them, applies reloads, and shuts them down in order.
// Control (signals, reload requests) enters here and nowhere else.
#pragma once

#include "config/Config.h"
#include "plugin/PluginRegistry.h"
#include "service/Service.h"

#include <Poco/Logger.h>

#include <memory>
#include <mutex>
#include <stdexcept>
#include <string>
#include <vector>

namespace portico::host {

class SignalWaiter;

enum class ReloadScope { plugins, config, all };

// What a reload did: one line per change, one per refusal.
struct ReloadReport {
    std::vector<std::string> changes;
    std::vector<std::string> errors;
    bool ok() const { return errors.empty(); }
};

// The host cannot start with this config; what() lists every reason.
class StartupError : public std::runtime_error {
public:
    using std::runtime_error::runtime_error;
};

class Host {
public:
    explicit Host(Config config);
    ~Host();
    Host(const Host &) = delete;
    Host &operator=(const Host &) = delete;

    // Loads the plugins and checks every service's handler; throws
    // StartupError naming file:line:col for each service that cannot run.
    void load();
    // Binds and starts every service; throws StartupError if one cannot bind.
    void start();
    // Serves until SIGINT/SIGTERM; SIGHUP reloads changed plugins.
    void run(const SignalWaiter &signals);
    // Stops accepting, lets sessions finish until shutdown_timeout, then
    // closes them. Returns false if some session would not end.
    bool shutdown();

    // Loads plugin files that changed since they were loaded; services bound
    // to a replaced plugin get the new version for new connections. Safe to
    // call from any thread (signal loop, file watcher, admin server).
    ReloadReport reload_plugins();
    // Re-reads the YAML file; if valid, applies the difference (services
    // added, removed, changed); if not, keeps running the old config and
    // reports the errors with file:line:column.
    ReloadReport reload_config();
    // What SIGHUP, the admin API and `portico reload` ask for.
    ReloadReport reload(ReloadScope scope);

    const Config &config() const { return config_; }
    // A snapshot of the running services, safe to use from any thread.
    std::vector<std::shared_ptr<Service>> services() const;
    PluginRegistry &registry() { return *registry_; }
    const PluginRegistry &registry() const { return *registry_; }

private:
    std::vector<std::string> handler_problems() const;
    PluginRegistry::Vetter vetter_for_bound_handlers() const;
    void rebind_services(const std::shared_ptr<PluginVersion> &version, ReloadReport &report);
    std::shared_ptr<Service> start_service(const ServiceConfig &svc);

    Config config_;
    Poco::Logger &log_;
    std::unique_ptr<PluginRegistry> registry_;
    mutable std::mutex control_mutex_; // one reload/shutdown at a time
    mutable std::mutex services_mutex_; // guards services_ for readers
    std::vector<std::shared_ptr<Service>> services_;
};

} // namespace portico::host
