// Host.cpp — start-up checks, the signal loop and shutdown. Reloads live in
// HostReload.cpp.
#include "app/Host.h"

#include "app/DescribedPlugins.h"
#include "app/PluginDirectory.h"
#include "app/PrivilegeDrop.h"
#include "app/SignalWaiter.h"
#include "app/Successor.h"
#include "net/HostApi.h"
#include "net/TlsContext.h"
#include "service/HandlerBinding.h"
#include "service/HandlerTraits.h"

#include <algorithm>
#include <cstdlib>
#include <thread>

#include <unistd.h>

namespace portico::host {
namespace {

std::filesystem::path shadow_parent() {
    const char *tmp = std::getenv("TMPDIR");
    return tmp && *tmp ? std::filesystem::path(tmp) : std::filesystem::path("/tmp");
}

std::string join(const std::vector<std::string> &items, const std::string &sep) {
    std::string out;
    for (const auto &item : items)
        out += (out.empty() ? "" : sep) + item;
    return out;
}

std::string service_key(std::size_t index) {
    return "services[" + std::to_string(index) + "]";
}

// Each TLS service's files, built into a context once before anything binds:
// a missing file or a key that does not match its certificate is a problem
// at the tls: key that names the file; an expired certificate a warning.
std::vector<std::string> tls_problems(const Config &config, Poco::Logger &log) {
    std::vector<std::string> problems;
    for (std::size_t i = 0; i < config.services.size(); ++i) {
        const ServiceConfig &svc = config.services[i];
        if (!svc.tls) continue;
        try {
            const auto context = TlsContext::load(*svc.tls);
            if (const std::string expired = context->expiry_warning(svc.name, svc.tls->cert); !expired.empty())
                log.warning(expired);
        } catch (const TlsError &e) {
            const SourcePos &pos = e.key() == "key"  ? svc.tls->key_pos
                                   : e.key() == "ca" ? svc.tls->ca_pos
                                                     : svc.tls->cert_pos;
            problems.push_back(pos.to_string() + ": " + service_key(i) + ".tls" +
                               (e.key().empty() ? "" : "." + e.key()) + ": " + e.what());
        }
    }
    return problems;
}

// After `user:` drops root, every reload re-reads the TLS files as that
// user: one only root can read would fail then, long after start. Said now.
void warn_unreadable_after_drop(const Config &config, Poco::Logger &log) {
    if (config.user.empty()) return;
    for (const ServiceConfig &svc : config.services) {
        if (!svc.tls) continue;
        for (const auto &[key, file] : {std::pair<const char *, const std::filesystem::path *>{"cert", &svc.tls->cert},
                                        {"key", &svc.tls->key},
                                        {"ca", &svc.tls->ca}}) {
            if (file->empty()) continue;
            if (const std::string why = unreadable_by(config.user, *file); !why.empty())
                log.warning("service '%s': tls.%s: %s; after dropping to user '%s' a reload cannot re-read it and "
                            "keeps the old certificate: make it readable by that user or its group",
                            svc.name, std::string(key), why, config.user);
        }
    }
}

} // namespace

const char *to_string(ReloadScope scope) {
    switch (scope) {
    case ReloadScope::plugins:
        return "plugins";
    case ReloadScope::config:
        return "config";
    case ReloadScope::all:
        return "all";
    }
    return "all";
}

Host::Host(Config config)
    : log_(Poco::Logger::get("portico.host")), config_(std::move(config)),
      registry_(std::make_unique<PluginRegistry>(host_api(), shadow_parent())) {
    readiness_.hold("start", "starting: loading plugins");
    apply_plugin_policy(config_.plugins);
}

void Host::apply_plugin_policy(const PluginsConfig &plugins) {
    // New plugin files are first loaded by this very binary in a check
    // process (see plugin/PluginCheck.h).
    registry_->set_policy(plugins.strict, plugins.call_timeout, "/proc/self/exe");
}

Host::~Host() {
    watcher_.reset();
    timer_.cancel(true);
    // Services hold bindings that pin plugin versions: they go first.
    {
        std::lock_guard lock(services_mutex_);
        services_.clear();
        retiring_.clear();
    }
    registry_.reset();
}

Config Host::config() const {
    std::lock_guard lock(config_mutex_);
    return config_;
}

std::vector<std::shared_ptr<Service>> Host::services() const {
    std::lock_guard lock(services_mutex_);
    return services_;
}

std::vector<std::shared_ptr<Service>> Host::retiring() const {
    std::lock_guard lock(services_mutex_);
    return retiring_;
}

void Host::load_plugin_files(const PluginsConfig &plugins) {
    const PluginFileList list = list_plugin_files(plugins);
    for (const std::string &problem : list.problems)
        log_.warning(problem);
    for (const auto &file : list.files) {
        const LoadOutcome outcome = load_plugin_file(file);
        if (!outcome.ok) log_.warning("plugin refused: %s", outcome.error);
    }
}

LoadOutcome Host::load_plugin_file(const std::filesystem::path &file, const PluginRegistry::Vetter &vet) {
    const auto seen = fingerprint_of(file);
    LoadOutcome outcome = registry_->load(file, vet);
    if (outcome.ok)
        refused_files_.forget(file);
    else
        refused_files_.remember(file, seen);
    return outcome;
}

void Host::load() {
    registry_->set_described(process_only_plugins(config_));
    load_plugin_files(config_.plugins);
    std::vector<std::string> problems = handler_problems(config_);
    for (std::string &problem : tls_problems(config_, log_))
        problems.push_back(std::move(problem));
    if (std::string missing = check_user_exists(config_.user); !missing.empty())
        problems.push_back(config_.file.string() + ": " + missing);
    else
        warn_unreadable_after_drop(config_, log_);
    if (!problems.empty()) throw StartupError(join(problems, "\n"));
}

std::vector<std::string> Host::handler_problems(const Config &config) const {
    std::vector<std::string> problems;
    std::vector<std::string> loaded;
    for (const auto &version : registry_->current_all())
        loaded.push_back(version->plugin_name());
    for (std::size_t i = 0; i < config.services.size(); ++i) {
        const ServiceConfig &svc = config.services[i];
        if (svc.handler_pos.line <= 0) continue; // missing or malformed: the config check reported it
        const std::string where = svc.handler_pos.to_string() + ": " + service_key(i) + ".handler: ";
        const std::string full = svc.plugin + "." + svc.handler;
        const auto version = registry_->current(svc.plugin);
        if (!version) {
            problems.push_back(where + "no plugin provides handler '" + full + "': plugin '" + svc.plugin +
                               "' is not loaded (loaded plugins: " + (loaded.empty() ? "none" : join(loaded, ", ")) +
                               "; see the plugin errors above, or check plugins.dir " + config.plugins.dir.string() +
                               ")");
            continue;
        }
        const HandlerEntry *entry = version->find_handler(svc.handler);
        if (!entry) {
            std::vector<std::string> names;
            for (const auto &h : version->handlers())
                names.push_back(svc.plugin + "." + h.name);
            problems.push_back(where + "plugin '" + svc.plugin + "' (" + version->source_file().string() +
                               ") has no handler '" + full + "' (it has: " + join(names, ", ") + ")");
            continue;
        }
        if (svc.mode != ServiceMode::process && !version->is_loaded()) {
            problems.push_back(where + "plugin '" + svc.plugin + "' (" + version->source_file().string() +
                               ") was only checked for mode process services, and loading it into the host for "
                               "this service in mode " +
                               to_string(svc.mode) + " failed (see the plugin errors above)");
            continue;
        }
        const bool tcp = svc.protocol == Protocol::tcp;
        if (tcp && entry->kind != PORTICO_HANDLER_STREAM)
            problems.push_back(where + "handler '" + full + "' handles datagrams and cannot serve protocol tcp");
        if (!tcp && entry->kind != PORTICO_HANDLER_DATAGRAM)
            problems.push_back(where + "handler '" + full + "' handles streams and cannot serve protocol udp");
        if (auto blocking = blocking_in_events(svc, *entry)) problems.push_back(where + *blocking);
    }
    return problems;
}

std::shared_ptr<Service> Host::make_bound_service(const ServiceConfig &svc, const Service *previous) {
    auto handle = std::make_shared<ServiceHandle>(svc.name, svc.settings);
    // The same handler keeps its state across a config change, as across a plugin reload.
    const auto previous_binding = previous ? previous->binding() : nullptr;
    auto binding = HandlerBinding::for_service(svc, registry_->current(svc.plugin), handle, previous_binding.get());
    ServiceConfig config = svc;
    config.once = once_;
    return make_service(config, std::move(handle), std::move(binding));
}

void Host::adopt_passed_socket(Service &service, const ServiceConfig &svc, InheritedSockets &sockets) {
    const auto fd = sockets.claim(svc.name, svc.listen, svc.protocol == Protocol::tcp, svc.listen_pos.to_string());
    if (!fd) return;
    // Poco's socket kinds tell a stream listener from a datagram socket.
    if (svc.protocol == Protocol::udp)
        service.adopt_listener(datagram_socket_from_fd(*fd), Service::ListenerOwner::another_process);
    else
        service.adopt_listener(server_socket_from_fd(*fd), Service::ListenerOwner::another_process);
    inherited_.insert(svc.name);
}

std::shared_ptr<Service> Host::start_service(const ServiceConfig &svc, InheritedSockets *passed) {
    std::shared_ptr<Service> service = make_bound_service(svc, nullptr);
    if (passed != nullptr) adopt_passed_socket(*service, svc, *passed);
    service->start();
    log_.information("service '%s' %s %s (handler %s.%s, plugin version %s)", svc.name,
                     std::string(inherited(svc.name) ? "serving on the passed socket" : "listening on"),
                     service->bound_address(), svc.plugin, svc.handler, service->binding()->version().plugin_version());
    return service;
}

void Host::start(const std::function<void()> &after_bind, InheritedSockets *passed) {
    std::lock_guard control(control_mutex_);
    readiness_.hold("start", "starting: binding services");
    std::vector<std::string> problems;
    std::vector<std::shared_ptr<Service>> started;
    for (const ServiceConfig &svc : config_.services) {
        try {
            started.push_back(start_service(svc, passed));
        } catch (const std::exception &e) {
            problems.push_back(e.what());
        }
    }
    if (!problems.empty()) throw StartupError(join(problems, "\n"));
    {
        std::lock_guard lock(services_mutex_);
        services_ = std::move(started);
    }
    if (after_bind) {
        try {
            after_bind();
        } catch (const std::exception &e) {
            throw StartupError(e.what());
        }
    }
    // After after_bind, which may take the admin server's passed socket.
    if (passed != nullptr)
        if (std::vector<std::string> unclaimed = passed->close_unclaimed(); !unclaimed.empty())
            throw StartupError(join(unclaimed, "\n"));
    if (!config_.user.empty()) {
        try {
            drop_privileges(config_.user, registry_->shadow_dir());
        } catch (const std::exception &e) {
            throw StartupError(e.what());
        }
        log_.information("running as user '%s'", config_.user);
    }
    start_watcher();
    readiness_.release("start");
    log_.information("portico ready: %z service(s)", config_.services.size());
}

void Host::start_watcher() {
    watcher_.reset();
    if (!config_.plugins.watch) return;
    try {
        watcher_ =
            std::make_unique<PluginWatcher>(config_.plugins.dir, [this] { reload(ReloadScope::plugins, "watcher"); });
    } catch (const std::exception &e) {
        log_.warning("%s; plugins reload on SIGHUP only", std::string(e.what()));
    }
}

void Host::announce_ready() {
    notify_.ready(status_line());
}

std::string Host::status_line() const {
    const auto count = [](const std::vector<std::shared_ptr<Service>> &list) {
        long long sessions = 0;
        for (const auto &service : list)
            sessions += static_cast<long long>(service->counters().active.load());
        return sessions;
    };
    const auto serving = services();
    const auto draining = retiring();
    std::string line = std::to_string(serving.size()) + (serving.size() == 1 ? " service, " : " services, ") +
                       std::to_string(count(serving)) + " sessions open";
    if (!draining.empty())
        line += ", " + std::to_string(draining.size()) + " retired service(s) with " + std::to_string(count(draining)) +
                " sessions draining";
    return line;
}

void Host::send_watchdog_if_healthy() {
    // This runs on the main loop: a stuck loop sends nothing. A service's own
    // loops report their stalls; one stalled loop withholds the ping too.
    for (const auto &service : services())
        if (service->stalled()) {
            if (!watchdog_withheld_)
                log_.warning("service '%s' has a stalled loop: no systemd watchdog ping until it serves again",
                             service->name());
            watchdog_withheld_ = true;
            return;
        }
    if (watchdog_withheld_) log_.information("every loop serves again: systemd watchdog pings resume");
    watchdog_withheld_ = false;
    notify_.watchdog();
}

void Host::run(const SignalWaiter &signals) {
    using namespace std::chrono;
    const auto watchdog = notify_.watchdog_interval();
    // --once looks often whether every service has served its one: the
    // host should exit right after, as handle_request() returns.
    const milliseconds longest = once_ ? milliseconds(20) : milliseconds(1000);
    const milliseconds tick =
        watchdog ? std::clamp(duration_cast<milliseconds>(*watchdog), milliseconds(1), longest) : longest;
    std::string last_status;
    for (;;) {
        if (handed_over_) return;
        if (once_ && served_once()) {
            log_.information("--once: every service has served its one connection or datagram; stopping");
            return;
        }
        if (watchdog) send_watchdog_if_healthy();
        if (notify_.enabled()) {
            if (std::string line = status_line(); line != last_status) {
                notify_.status(line);
                last_status = std::move(line);
            }
        }
        const auto signal = signals.wait(tick);
        if (!signal) continue;
        if (*signal == HostSignal::stop) return;
        if (*signal == HostSignal::upgrade) {
            log_.information("SIGUSR2: upgrading to %s", upgrade_binary_.string());
            upgrade("SIGUSR2");
            continue;
        }
        log_.information("SIGHUP: reloading the config and changed plugins");
        reload(ReloadScope::all, "SIGHUP");
    }
}

bool Host::served_once() const {
    const auto running = services();
    // An ended session is one recorded duration (a datagram's handling, for UDP).
    return std::all_of(running.begin(), running.end(), [](const std::shared_ptr<Service> &service) {
        return service->counters().session_duration.snapshot().count > 0;
    });
}

void Host::set_upgrade_command(std::filesystem::path binary, std::vector<std::string> args) {
    upgrade_binary_ = std::move(binary);
    upgrade_args_ = std::move(args);
}

void Host::add_handover_socket(std::string name, int fd, std::function<void()> stop_accepting) {
    std::lock_guard control(control_mutex_);
    handover_sockets_.push_back({std::move(name), fd, std::move(stop_accepting)});
}

ReloadReport Host::upgrade(std::string_view trigger) {
    ReloadReport report;
    {
        std::lock_guard control(control_mutex_);
        if (stopping_) {
            report.errors.push_back("the host is stopping; upgrade refused");
        } else if (upgrade_binary_.empty()) {
            report.errors.push_back("this host does not know its binary's path; upgrade refused");
        } else {
            std::vector<PassedSocket> sockets;
            for (const auto &service : services())
                if (const int fd = service->listener_fd(); fd >= 0) sockets.push_back({service->name(), fd});
            for (const HandoverSocket &extra : handover_sockets_)
                sockets.push_back({extra.name, extra.fd});
            log_.information("upgrade: starting %s with %z listening socket(s)", upgrade_binary_.string(),
                             sockets.size());
            SuccessorOutcome outcome;
            try {
                outcome = start_successor(upgrade_binary_, upgrade_args_, sockets, kUpgradeReadyTimeout);
            } catch (const std::exception &e) {
                outcome.error = std::string("cannot start ") + upgrade_binary_.string() + ": " + e.what();
            }
            if (!outcome.ready) {
                report.errors.push_back("upgrade failed: " + outcome.error + "; pid " + std::to_string(::getpid()) +
                                        " keeps serving");
                log_.error(report.errors.back());
            } else {
                stopping_ = true; // no reload may change what the successor now serves
                const auto delay = config_.drain_delay;
                readiness_.hold("stop", "upgraded: pid " + std::to_string(outcome.pid) +
                                            " serves these sockets now; this process drains and exits");
                handed_over_at_ = std::chrono::steady_clock::now();
                handed_over_ = true;
                // First: the successor's own notifications count from now on.
                notify_.main_pid(outcome.pid, "handed over to pid " + std::to_string(outcome.pid));
                // With a drain_delay, shutdown() stops the services once it has
                // passed; the successor accepts on the same sockets meanwhile.
                if (delay.count() <= 0)
                    for (const auto &service : services()) {
                        service->handle()->stopping = true;
                        service->keep_listener_open();
                        service->stop_accepting();
                    }
                // The admin socket goes at once: its probes are the successor's to answer.
                for (const HandoverSocket &extra : handover_sockets_)
                    if (extra.stop_accepting) extra.stop_accepting();
                report.changes.push_back(
                    "upgraded: pid " + std::to_string(outcome.pid) + " (" + upgrade_binary_.string() +
                    ") serves every socket now; pid " + std::to_string(::getpid()) +
                    (delay.count() > 0 ? " accepts for drain_delay (" + std::to_string(delay.count()) +
                                             "ms) more, then stops accepting,"
                                       : " stopped accepting,") +
                    " drains its sessions for up to shutdown_timeout and exits");
                log_.information(report.changes.back());
            }
        }
    }
    ReloadRecord record;
    record.at = std::chrono::system_clock::now();
    record.scope = "upgrade";
    record.trigger = std::string(trigger);
    record.changes = report.changes;
    record.errors = report.errors;
    reload_history_.record(std::move(record));
    return report;
}

ReloadReport Host::reload(ReloadScope scope, std::string_view trigger) {
    notify_.reloading("reloading (" + std::string(trigger) + ")");
    // An explicit request retries every refused file; a file change only the changed ones.
    ReloadReport report = reload_retrying(scope, trigger != "watcher");
    notify_.ready(status_line());
    ReloadRecord record;
    record.at = std::chrono::system_clock::now();
    record.scope = to_string(scope);
    record.trigger = std::string(trigger);
    record.changes = report.changes;
    record.errors = report.errors;
    reload_history_.record(std::move(record));
    return report;
}

bool Host::shutdown() {
    std::chrono::milliseconds delay;
    {
        std::lock_guard control(control_mutex_);
        stopping_ = true; // from here on reloads are refused, so watcher_ is ours alone
        delay = config_.drain_delay;
    }
    const std::string delay_text = std::to_string(delay.count()) + "ms";
    // First of all, so a balancer's health check starts taking this host out.
    if (!handed_over_)
        readiness_.hold("stop", delay.count() > 0 ? "stopping: accepting for drain_delay (" + delay_text +
                                                        ") more, then draining open sessions"
                                                  : "stopping: draining open sessions");
    // After a hand-over this process is no longer the unit's main process:
    // STOPPING=1 would speak for the successor.
    if (!handed_over_) notify_.stopping("stopping: " + status_line());
    watcher_.reset();
    if (delay.count() > 0) {
        // After a hand-over, what is left of the delay counted from it.
        const auto until = (handed_over_ ? handed_over_at_ : std::chrono::steady_clock::now()) + delay;
        log_.information("stopping: /ready answers 503; still accepting for drain_delay (%s)", delay_text);
        std::this_thread::sleep_until(until);
    }
    std::lock_guard control(control_mutex_);
    std::vector<std::shared_ptr<Service>> services = this->services();
    const std::vector<std::shared_ptr<Service>> draining = retiring();
    services.insert(services.end(), draining.begin(), draining.end());
    log_.information("stopping: no new connections; waiting up to %s for open sessions",
                     std::to_string(config_.shutdown_timeout.count()) + "ms");
    // After a hand-over without a drain_delay the services stopped accepting
    // already (upgrade()); with one, they stop now and leave the sockets to
    // the successor.
    const bool stopped_by_upgrade = handed_over_ && delay.count() <= 0;
    for (const auto &service : stopped_by_upgrade ? std::vector<std::shared_ptr<Service>>{} : services) {
        service->handle()->stopping = true;
        // systemd's socket outlives this process: it queues connections for
        // the next start; after a hand-over the successor serves on it.
        if (inherited(service->name()) || handed_over_) service->keep_listener_open();
        service->stop_accepting();
    }
    const auto deadline = std::chrono::steady_clock::now() + config_.shutdown_timeout;
    bool all_ended = true;
    for (const auto &service : services) {
        if (service->wait_sessions(deadline)) continue;
        log_.warning("service '%s': %Ld session(s) still open at shutdown_timeout; closing them", service->name(),
                     static_cast<Poco::Int64>(service->counters().active.load()));
        service->close_sessions();
        if (!service->wait_sessions(std::chrono::steady_clock::now() + std::chrono::seconds(5))) all_ended = false;
    }
    timer_.cancel(true);
    if (all_ended) {
        std::lock_guard lock(services_mutex_);
        services_.clear();
        retiring_.clear();
    }
    log_.information(all_ended ? "stopped" : "stopped with sessions that would not end");
    return all_ended;
}

} // namespace portico::host
