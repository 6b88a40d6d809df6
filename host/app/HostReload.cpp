// HostReload.cpp — hot reload: new plugin versions swapped in for new
// connections, and config changes applied as a difference, with old
// versions and old services drained rather than cut.
#include "app/ConfigDiff.h"
#include "app/DescribedPlugins.h"
#include "app/Host.h"
#include "app/Logging.h"
#include "app/PluginDirectory.h"
#include "config/ConfigLoader.h"
#include "plugin/PluginLoader.h"
#include "service/HandlerBinding.h"
#include "service/HandlerTraits.h"
#include "service/StreamService.h"

#include <algorithm>
#include <cstdint>
#include <fstream>
#include <iterator>
#include <map>
#include <optional>
#include <set>

namespace portico::host {
namespace {

// Same digest the loader records for a version (PluginVersion::sha256).
std::string sha256_of_file(const std::filesystem::path &file) {
    std::ifstream in(file, std::ios::binary);
    if (!in) return {};
    const std::string bytes((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
    return sha256_hex(bytes.data(), bytes.size());
}

// An expired certificate is a warning however it was loaded: at start
// (Host.cpp), by a certificate reload, or with a service a reload started.
void warn_if_expired(const Service &service, Poco::Logger &log) {
    const auto *tcp = dynamic_cast<const StreamService *>(&service);
    if (tcp == nullptr || !service.config().tls) return;
    const auto context = tcp->tls_context();
    if (!context) return;
    if (const std::string expired = context->expiry_warning(service.name(), service.config().tls->cert);
        !expired.empty())
        log.warning(expired);
}

// Certificate files change on disk while the YAML stays the same: every
// config reload re-reads them and swaps a service's TLS context when their
// content changed. A file that cannot be used leaves the old context serving.
void reload_certificates(const std::vector<std::shared_ptr<Service>> &services, Poco::Logger &log,
                         ReloadReport &report) {
    for (const auto &service : services) {
        if (!service->config().tls) continue;
        try {
            if (std::string change = service->reload_tls(); !change.empty()) {
                log.information(change);
                report.changes.push_back(std::move(change));
                warn_if_expired(*service, log);
            }
        } catch (const std::exception &e) {
            report.errors.push_back("service '" + service->name() + "': tls: " + e.what() +
                                    "; the previous certificate keeps serving");
            log.error(report.errors.back());
        }
    }
}

Poco::Util::TimerTask::Ptr task(std::function<void()> fn) {
    return Poco::Util::Timer::func(std::move(fn));
}

Poco::Clock clock_in(std::chrono::milliseconds delay) {
    Poco::Clock at;
    at += static_cast<Poco::Clock::ClockDiff>(delay.count()) * 1000;
    return at;
}

} // namespace

ReloadReport Host::reload(ReloadScope scope) {
    return reload_retrying(scope, true);
}

ReloadReport Host::reload_retrying(ReloadScope scope, bool retry_refused) {
    std::lock_guard control(control_mutex_);
    if (stopping_) return ReloadReport{{}, {"the host is stopping; reload refused"}};
    ReloadReport report;
    if (scope == ReloadScope::config || scope == ReloadScope::all) report = reload_config_locked();
    if ((scope == ReloadScope::plugins || scope == ReloadScope::all) && report.ok()) {
        ReloadReport plugins = reload_plugins_locked(retry_refused);
        report.changes.insert(report.changes.end(), plugins.changes.begin(), plugins.changes.end());
        report.errors.insert(report.errors.end(), plugins.errors.begin(), plugins.errors.end());
    }
    if (scope == ReloadScope::config || scope == ReloadScope::all) reload_certificates(services(), log_, report);
    return report;
}

PluginRegistry::Vetter Host::vetter_for_bound_handlers() const {
    return [services = services()](const PluginVersion &candidate) -> std::optional<std::string> {
        for (const auto &service : services) {
            const ServiceConfig &svc = service->config();
            if (svc.plugin != candidate.plugin_name()) continue;
            const HandlerEntry *entry = candidate.find_handler(svc.handler);
            if (entry == nullptr)
                return "handler '" + svc.plugin + "." + svc.handler + "' that service '" + svc.name +
                       "' is bound to is missing from the new version";
            if (entry->kind != service->binding()->handler().kind)
                return "handler '" + svc.plugin + "." + svc.handler + "' changed kind (stream/datagram)";
            if (auto blocking = blocking_in_events(svc, *entry)) return *blocking;
        }
        return std::nullopt;
    };
}

void Host::rebind_services(const std::shared_ptr<PluginVersion> &version, ReloadReport &report) {
    for (const auto &service : services()) {
        const ServiceConfig &svc = service->config();
        if (svc.plugin != version->plugin_name()) continue;
        try {
            const auto previous = service->binding();
            const auto replaced =
                service->set_binding(HandlerBinding::for_service(svc, version, service->handle(), previous.get()));
            report.changes.push_back("service '" + svc.name + "' now uses " + version->plugin_name() + " " +
                                     version->plugin_version() + " (generation " +
                                     std::to_string(version->generation()) + ")");
            log_.information(report.changes.back());
            schedule_drain(service, replaced);
        } catch (const std::exception &e) {
            report.errors.push_back("service '" + svc.name + "' keeps its previous plugin version: " + e.what());
            log_.error(report.errors.back());
        }
    }
}

void Host::schedule_drain(const std::shared_ptr<Service> &service, std::chrono::steady_clock::time_point replaced) {
    const auto drain = config_.plugins.drain_timeout;
    std::weak_ptr<Service> weak = service;
    timer_.schedule(task([this, weak, drain, replaced] {
                        const auto service = weak.lock();
                        if (!service) return;
                        // Only what this reload (or an earlier one) replaced: a
                        // version replaced since has its own timer.
                        const std::size_t closed = service->close_sessions_replaced_by(replaced);
                        if (closed > 0)
                            log_.warning("service '%s': closed %z session(s) still on an old plugin version after "
                                         "drain_timeout (%s)",
                                         service->name(), closed, std::to_string(drain.count()) + "ms");
                    }),
                    clock_in(drain));
}

ReloadReport Host::reload_plugins_locked(bool retry_refused) {
    ReloadReport report;
    registry_->set_described(process_only_plugins(config_));
    std::map<std::filesystem::path, std::string> loaded_sha;
    for (const auto &version : registry_->current_all())
        loaded_sha[version->source_file()] = version->sha256();
    const PluginFileList list = list_plugin_files(config_.plugins);
    for (const std::string &problem : list.problems)
        report.errors.push_back(problem);
    for (const auto &file : list.files) {
        const auto known = loaded_sha.find(file);
        if (known != loaded_sha.end() && known->second == sha256_of_file(file)) continue;
        if (!retry_refused && refused_files_.unchanged(file)) continue; // refused and logged already
        const LoadOutcome outcome = load_plugin_file(file, vetter_for_bound_handlers());
        if (!outcome.ok) {
            report.errors.push_back(known != loaded_sha.end()
                                        ? "plugin reload refused, previous version keeps serving: " + outcome.error
                                        : "plugin not loaded: " + outcome.error);
            log_.error(report.errors.back());
            continue;
        }
        report.changes.push_back("loaded " + outcome.version->plugin_name() + " " + outcome.version->plugin_version() +
                                 " from " + file.string() + " (generation " +
                                 std::to_string(outcome.version->generation()) + ")");
        rebind_services(outcome.version, report);
    }
    if (report.changes.empty() && report.errors.empty()) report.changes.push_back("no plugin file changed");
    return report;
}

void Host::load_into_host_for_other_modes(const Config &next, ReloadReport &report) {
    const std::set<std::string> described = process_only_plugins(next);
    std::set<std::filesystem::path> files;
    for (const ServiceConfig &svc : next.services) {
        const auto version = registry_->current(svc.plugin);
        if (version && !version->is_loaded() && described.count(svc.plugin) == 0) files.insert(version->source_file());
    }
    for (const std::filesystem::path &file : files) {
        const LoadOutcome outcome = load_plugin_file(file, vetter_for_bound_handlers());
        if (!outcome.ok) continue; // handler_problems reports the service that needs it
        report.changes.push_back("loaded " + outcome.version->plugin_name() + " " + outcome.version->plugin_version() +
                                 " from " + file.string() + " into the host (generation " +
                                 std::to_string(outcome.version->generation()) +
                                 "): a service outside mode process uses it now");
        rebind_services(outcome.version, report);
    }
}

ReloadReport Host::reload_config_locked() {
    ReloadReport report;
    Config next;
    try {
        next = load_config_file(config_.file);
    } catch (const ConfigError &e) {
        for (const ConfigIssue &issue : e.issues())
            report.errors.push_back(issue.to_string());
        report.errors.push_back(config_.file.string() + ": config not reloaded; the previous config keeps running");
        for (const auto &error : report.errors)
            log_.error(error);
        return report;
    }
    const ConfigDiff diff = diff_configs(config_, next);
    // /ready says 503 while services are rebuilt: a balancer sends new
    // connections elsewhere until the new set listens.
    std::optional<ReadinessHold> rebuilding;
    if (!diff.added.empty() || !diff.changed.empty() || !diff.removed.empty())
        rebuilding.emplace(readiness_, "reload",
                           "reloading: rebuilding services (" + std::to_string(diff.added.size()) + " added, " +
                               std::to_string(diff.changed.size()) + " changed, " +
                               std::to_string(diff.removed.size()) + " removed)");
    // New plugin files (a new dir or list) are loaded before handlers are checked.
    registry_->set_described(process_only_plugins(next));
    if (diff.plugins_changed) {
        apply_plugin_policy(next.plugins);
        load_plugin_files(next.plugins);
    }
    load_into_host_for_other_modes(next, report);
    const std::vector<std::string> problems = handler_problems(next);
    if (!problems.empty()) {
        report.errors = problems;
        report.errors.push_back(config_.file.string() + ": config not reloaded; the previous config keeps running");
        for (const auto &error : report.errors)
            log_.error(error);
        return report;
    }

    std::map<std::string, std::shared_ptr<Service>> current;
    for (const auto &service : services())
        current[service->name()] = service;

    // Start what is new or changed first: if anything cannot start, the
    // running services are untouched.
    std::map<std::string, std::shared_ptr<Service>> started;
    for (const std::string &name : diff.added) {
        const ServiceConfig &svc = *std::find_if(next.services.begin(), next.services.end(),
                                                 [&](const ServiceConfig &s) { return s.name == name; });
        try {
            started[name] = start_service(svc);
            report.changes.push_back("service '" + name + "' added on " + started[name]->bound_address());
        } catch (const std::exception &e) {
            report.errors.push_back(e.what());
        }
    }
    if (!report.errors.empty()) {
        for (auto &[name, service] : started)
            retire(service);
        report.changes.clear();
        report.errors.push_back(config_.file.string() + ": config not reloaded; the previous config keeps running");
        for (const auto &error : report.errors)
            log_.error(error);
        return report;
    }
    for (const std::string &name : diff.changed) {
        const ServiceConfig &svc = *std::find_if(next.services.begin(), next.services.end(),
                                                 [&](const ServiceConfig &s) { return s.name == name; });
        try {
            started[name] = start_replacement(svc, current[name]);
            report.changes.push_back("service '" + name + "' changed: now on " + started[name]->bound_address() +
                                     "; its open connections finish on the old settings");
        } catch (const std::exception &e) {
            report.errors.push_back("service '" + name + "' keeps its old settings: " + e.what());
        }
    }
    for (const std::string &name : diff.removed) {
        if (inherited(name)) current[name]->keep_listener_open();
        inherited_.erase(name);
        retire(current[name], config_.drain_delay);
        report.changes.push_back("service '" + name + "' removed; " +
                                 (config_.drain_delay.count() > 0
                                      ? "it accepts for drain_delay (" + std::to_string(config_.drain_delay.count()) +
                                            "ms) more, then its open connections drain"
                                      : "its open connections drain"));
    }

    std::vector<std::shared_ptr<Service>> next_services;
    for (const ServiceConfig &svc : next.services) {
        const auto fresh = started.find(svc.name);
        next_services.push_back(fresh != started.end() ? fresh->second : current[svc.name]);
    }
    {
        std::lock_guard lock(services_mutex_);
        services_ = std::move(next_services);
    }
    if (diff.logging_changed) {
        try {
            setup_logging(next.logging);
            report.changes.push_back("logging settings applied");
        } catch (const std::exception &e) {
            report.errors.push_back(std::string("logging: ") + e.what());
        }
    }
    if (diff.admin_changed) report.changes.push_back("admin settings changed: they take effect at the next restart");
    const bool watch_changed = diff.plugins_changed &&
                               (next.plugins.dir != config_.plugins.dir || next.plugins.watch != config_.plugins.watch);
    {
        std::lock_guard lock(config_mutex_);
        // A service whose change could not be applied keeps its old entry.
        for (ServiceConfig &svc : next.services) {
            const auto it = current.find(svc.name);
            if (it != current.end() && !started.count(svc.name)) svc = it->second->config();
        }
        next.admin = config_.admin;
        config_ = std::move(next);
    }
    if (watch_changed) start_watcher();
    if (report.changes.empty()) report.changes.push_back("config unchanged");
    for (const auto &change : report.changes)
        log_.information(change);
    for (const auto &[name, service] : started)
        warn_if_expired(*service, log_);
    for (const auto &error : report.errors)
        log_.error(error);
    return report;
}

std::shared_ptr<Service> Host::start_replacement(const ServiceConfig &svc, const std::shared_ptr<Service> &old) {
    std::shared_ptr<Service> fresh = make_bound_service(svc, old.get());
    const bool same_options = old->config().reuse_port == svc.reuse_port &&
                              old->config().reuse_address == svc.reuse_address && old->config().backlog == svc.backlog;
    // A passed socket cannot be bound again: its options are its owner's.
    const bool same_socket = old->can_hand_over_listener_to(*fresh) && old->config().listen == svc.listen &&
                             (same_options || inherited(svc.name));
    if (!same_socket && inherited(svc.name)) {
        old->keep_listener_open(); // systemd's socket: the old service leaves it open
        inherited_.erase(svc.name);
    }
    if (same_socket) {
        old->hand_over_listener(*fresh);
        fresh->start();
        retire(old); // stops the old accept loop once its queue is empty; the socket stays open
        return fresh;
    }
    if (old->config().listen == svc.listen) {
        // Same address, different socket options: the old socket must go first.
        retire(old);
        fresh->start();
        return fresh;
    }
    fresh->start();
    retire(old);
    return fresh;
}

void Host::retire(std::shared_ptr<Service> old, std::chrono::milliseconds drain_delay) {
    {
        std::lock_guard lock(services_mutex_);
        retiring_.push_back(old);
    }
    if (drain_delay.count() <= 0) return begin_drain(std::move(old), config_.plugins.drain_timeout);
    // The Service's address tells two removals of one name apart.
    const std::string key =
        "removed " + old->name() + " " + std::to_string(reinterpret_cast<std::uintptr_t>(old.get()));
    readiness_.hold(key, "reload removed service '" + old->name() + "': it accepts for drain_delay (" +
                             std::to_string(drain_delay.count()) + "ms) more, then drains");
    const auto drain_timeout = config_.plugins.drain_timeout;
    timer_.schedule(task([this, old, key, drain_timeout] {
                        log_.information("service '%s' (removed): drain_delay over, no new connections", old->name());
                        begin_drain(old, drain_timeout);
                        readiness_.release(key);
                    }),
                    clock_in(drain_delay));
}

void Host::begin_drain(std::shared_ptr<Service> old, std::chrono::milliseconds drain_timeout) {
    old->handle()->stopping = true;
    old->stop_accepting();
    check_retired(std::move(old), std::chrono::steady_clock::now() + drain_timeout);
}

void Host::check_retired(std::shared_ptr<Service> old, std::chrono::steady_clock::time_point deadline) {
    const auto now = std::chrono::steady_clock::now();
    if (old->wait_sessions(now)) {
        log_.information("service '%s' (retired) has drained", old->name());
        std::lock_guard lock(services_mutex_);
        retiring_.erase(std::remove(retiring_.begin(), retiring_.end(), old), retiring_.end());
        return; // the timer thread drops the last reference: the old listener and pool go
    }
    if (now >= deadline) {
        log_.warning("service '%s' (retired): closing %Ld session(s) still open at drain_timeout", old->name(),
                     static_cast<Poco::Int64>(old->counters().active.load()));
        old->close_sessions();
        deadline = now + std::chrono::hours(24 * 365); // close once; then just wait for them to leave
    }
    timer_.schedule(task([this, old, deadline] { check_retired(old, deadline); }),
                    clock_in(std::chrono::milliseconds(100)));
}

} // namespace portico::host
