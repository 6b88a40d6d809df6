// Host.h — the running daemon: owns the config, the plugin registry and the
// services; starts them, applies reloads, and shuts them down in order.
// Control (signals, reload requests) enters here and nowhere else.
#pragma once

#include "app/PluginWatcher.h"
#include "app/Readiness.h"
#include "app/RefusedFiles.h"
#include "app/ReloadHistory.h"
#include "app/SystemdNotify.h"
#include "config/Config.h"
#include "net/InheritedSockets.h"
#include "plugin/PluginRegistry.h"
#include "service/Service.h"

#include <Poco/Logger.h>
#include <Poco/Util/Timer.h>

#include <atomic>
#include <chrono>
#include <filesystem>
#include <functional>
#include <memory>
#include <mutex>
#include <set>
#include <stdexcept>
#include <string>
#include <string_view>
#include <vector>

namespace portico::host {

class SignalWaiter;

enum class ReloadScope { plugins, config, all };
// "plugins", "config", "all": as the admin API and `portico reload` spell it.
const char *to_string(ReloadScope scope);

// How long an upgrade waits for the new process to report ready.
inline constexpr std::chrono::seconds kUpgradeReadyTimeout{30};

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
    // `after_bind` runs once every service listens and before privileges
    // are dropped (an upgrade's successor opens the admin socket it shares
    // with its predecessor there; a port below 1024 can still be bound); what it
    // throws becomes a StartupError. `passed`: sockets given to this process
    // (socket activation, `portico upgrade`); a service serves on the one
    // for it instead of binding. One that does not fit its service, or that
    // no service (nor after_bind) took, is a StartupError.
    void start(const std::function<void()> &after_bind = {}, InheritedSockets *passed = nullptr);
    // Serves until SIGINT/SIGTERM or a successful upgrade; SIGHUP reloads the
    // config and changed plugins, SIGUSR2 upgrades.
    void run(const SignalWaiter &signals);
    // `portico --once` (before start()): every service takes one connection
    // or datagram, and run() returns once each has served its one.
    void serve_once() { once_ = true; }
    // /ready answers 503 at once; accepting goes on for drain_delay (what is
    // left of it after an upgrade's hand-over), then stops; sessions may
    // finish until shutdown_timeout, then are closed. Returns false if some
    // session would not end.
    bool shutdown();
    // "" when the host wants new connections; else why not (starting,
    // rebuilding services, draining before a stop), for /ready.
    std::string not_ready_reason() const { return readiness_.reason(); }

    // What SIGHUP, the admin API and `portico reload` ask for; safe to call
    // from any thread (signal loop, file watcher, admin server). Plugins:
    // loads plugin files that changed since they were loaded; services bound
    // to a replaced plugin get the new version for new connections. Config:
    // re-reads the YAML file; if valid, applies the difference (services
    // added, removed, changed); if not, keeps running the old config and
    // reports the errors with file:line:column.
    ReloadReport reload(ReloadScope scope);
    // reload(scope), recorded in reload_history() with what asked for it
    // ("admin", "SIGHUP", "watcher").
    ReloadReport reload(ReloadScope scope, std::string_view trigger);
    // What `portico upgrade` and SIGUSR2 ask for: starts `binary` (as set by
    // set_upgrade_command) with every listening socket; once it reports
    // ready, this host stops accepting and run() returns so it drains and
    // exits. If it fails, this host serves on and the report says why.
    ReloadReport upgrade(std::string_view trigger);
    // The binary on disk and the arguments an upgrade starts (main() resolves
    // the path it was started from, which a new build replaces).
    void set_upgrade_command(std::filesystem::path binary, std::vector<std::string> args);
    // A listening socket that is not a service's (the admin server's): an
    // upgrade passes it on as `name`, and calls `stop_accepting` once the
    // successor serves.
    void add_handover_socket(std::string name, int fd, std::function<void()> stop_accepting);
    // True once an upgrade handed the sockets to a successor that is ready.
    bool handed_over() const { return handed_over_.load(); }
    // READY=1 to systemd, when it listens (not for an upgrade's successor:
    // its predecessor announces it with MAINPID=).
    void announce_ready();
    // "3 services, 12 sessions open, 1 service draining": systemd's STATUS=.
    std::string status_line() const;

    // The last reloads, for /status and the status page.
    const ReloadHistory &reload_history() const { return reload_history_; }

    // A copy of the config in force, safe to use from any thread.
    Config config() const;
    // A snapshot of the running services, safe to use from any thread.
    std::vector<std::shared_ptr<Service>> services() const;
    // Services removed or replaced by a config reload, still draining.
    std::vector<std::shared_ptr<Service>> retiring() const;
    PluginRegistry &registry() { return *registry_; }
    const PluginRegistry &registry() const { return *registry_; }

private:
    std::vector<std::string> handler_problems(const Config &config) const;
    PluginRegistry::Vetter vetter_for_bound_handlers() const;
    ReloadReport reload_plugins_locked(bool retry_refused = true);
    ReloadReport reload_config_locked();
    void load_plugin_files(const PluginsConfig &plugins);
    // A plugin only described by a check process (mode process) that `next`
    // also binds to a service of another mode: loaded into the host now.
    void load_into_host_for_other_modes(const Config &next, ReloadReport &report);
    void rebind_services(const std::shared_ptr<PluginVersion> &version, ReloadReport &report);
    std::shared_ptr<Service> make_bound_service(const ServiceConfig &svc, const Service *previous);
    std::shared_ptr<Service> start_service(const ServiceConfig &svc, InheritedSockets *passed = nullptr);
    // Starts the replacement for `old` (same name, changed settings); the
    // listening socket is handed over when the address did not change, so
    // no connection is refused during the swap.
    std::shared_ptr<Service> start_replacement(const ServiceConfig &svc, const std::shared_ptr<Service> &old);
    // Stops `old` accepting and drains it: its sessions may finish until
    // plugins.drain_timeout, then are closed; then it is destroyed. A
    // `drain_delay` (a service a reload removed) keeps it accepting that
    // long first, with /ready at 503 meanwhile.
    void retire(std::shared_ptr<Service> old, std::chrono::milliseconds drain_delay = {});
    // Stops `old` (already in retiring_) accepting and drains it until drain_timeout.
    void begin_drain(std::shared_ptr<Service> old, std::chrono::milliseconds drain_timeout);
    void check_retired(std::shared_ptr<Service> old, std::chrono::steady_clock::time_point deadline);
    // drain_timeout after `replaced` (when a plugin reload replaced the
    // binding of `service`), closes its sessions still running on a version
    // replaced then or earlier.
    void schedule_drain(const std::shared_ptr<Service> &service, std::chrono::steady_clock::time_point replaced);
    void start_watcher();
    // Services started on a passed socket keep it: a replacement with the
    // same address takes it over whatever its options, and stopping leaves
    // the socket to its owner (systemd) instead of shutting it down.
    bool inherited(const std::string &name) const { return inherited_.count(name) > 0; }
    // The passed socket for `svc`, adopted before it starts (`where` for errors).
    void adopt_passed_socket(Service &service, const ServiceConfig &svc, InheritedSockets &sockets);
    void send_watchdog_if_healthy();
    // --once: every service has served its one connection or datagram.
    bool served_once() const;
    // plugins.strict and call_timeout for the loads from now on.
    void apply_plugin_policy(const PluginsConfig &plugins);
    // registry_->load(file), remembering a refusal in refused_files_.
    LoadOutcome load_plugin_file(const std::filesystem::path &file, const PluginRegistry::Vetter &vet = {});
    // reload(scope); a watcher's reload does not retry refused files that
    // did not change since (retry_refused false).
    ReloadReport reload_retrying(ReloadScope scope, bool retry_refused);

    Poco::Logger &log_;
    mutable std::mutex config_mutex_; // guards config_ for readers
    Config config_;
    std::unique_ptr<PluginRegistry> registry_;
    mutable std::mutex control_mutex_;  // one reload/shutdown at a time
    mutable std::mutex services_mutex_; // guards services_ and retiring_ for readers
    std::vector<std::shared_ptr<Service>> services_;
    std::vector<std::shared_ptr<Service>> retiring_;
    bool stopping_ = false; // set under control_mutex_: no reload after shutdown began
    SystemdNotify notify_;
    std::set<std::string> inherited_; // set in start(), read under control_mutex_
    std::filesystem::path upgrade_binary_;
    std::vector<std::string> upgrade_args_;
    std::atomic<bool> handed_over_{false};
    std::chrono::steady_clock::time_point handed_over_at_; // set with handed_over_, read by shutdown()
    Readiness readiness_;
    bool once_ = false;              // set before start(), read after
    bool watchdog_withheld_ = false; // main loop only: the last ping was withheld
    struct HandoverSocket {
        std::string name;
        int fd = -1;
        std::function<void()> stop_accepting;
    };
    std::vector<HandoverSocket> handover_sockets_; // under control_mutex_
    std::unique_ptr<PluginWatcher> watcher_;
    RefusedFiles refused_files_; // under control_mutex_ (or before any thread starts)
    // Runs drain deadlines and retirement checks; declared last so it stops
    // first, before the services and plugins its tasks refer to.
    Poco::Util::Timer timer_;
    ReloadHistory reload_history_;
};

} // namespace portico::host
