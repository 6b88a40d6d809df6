// StatusSnapshot.cpp — copying the host's state: services (running and
// retiring), plugin versions, draining versions with their session counts.
#include "admin/StatusSnapshot.h"

#include "app/Host.h"

#include <Poco/DateTimeFormat.h>
#include <Poco/DateTimeFormatter.h>
#include <Poco/Timestamp.h>

#include <map>

#include <unistd.h>

namespace portico::host {
namespace {

ServiceStatus status_of(Service &service, const std::string &state) {
    ServiceStatus s;
    const ServiceConfig &cfg = service.config();
    s.name = cfg.name;
    s.state = state;
    s.address = service.bound_address();
    s.protocol = to_string(cfg.protocol);
    s.mode = to_string(cfg.mode);
    s.handler = cfg.plugin + "." + cfg.handler;
    s.access_log = cfg.access_log;
    if (const auto binding = service.binding()) {
        s.plugin = binding->version().plugin_name();
        s.plugin_version = binding->version().plugin_version();
        s.generation = binding->version().generation();
    }
    s.counts = service.figures();
    s.workers = service.worker_figures();
    return s;
}

PluginStatus status_of(const PluginVersion &v) {
    PluginStatus p;
    p.name = v.plugin_name();
    p.version = v.plugin_version();
    p.file = v.source_file().string();
    p.sha256 = v.sha256();
    p.loaded_at = v.loaded_at();
    p.generation = v.generation();
    for (const HandlerEntry &h : v.handlers())
        p.handlers.push_back(h.name);
    return p;
}

} // namespace

bool services_ready(const Host &host) {
    const auto services = host.services();
    if (services.empty()) return false;
    for (const auto &service : services)
        if (service->handle()->stopping.load()) return false;
    return true;
}

StatusSnapshot take_snapshot(const Host &host, const ReloadHistory &history,
                             std::chrono::system_clock::time_point started_at, bool accepting) {
    StatusSnapshot snap;
    snap.portico_version = PORTICO_VERSION;
    snap.pid = static_cast<long>(::getpid());
    snap.started_at = started_at;
    snap.now = std::chrono::system_clock::now();
    snap.not_ready_reason = host.not_ready_reason();
    snap.ready = accepting && services_ready(host) && snap.not_ready_reason.empty();
    snap.process = read_process_stats();

    std::map<uint64_t, uint64_t> sessions_by_generation;
    const auto count_sessions = [&](Service &service) {
        for (const auto &[generation, count] : service.sessions_by_generation())
            sessions_by_generation[generation] += count;
    };
    for (const auto &service : host.services()) {
        snap.services.push_back(status_of(*service, "serving"));
        count_sessions(*service);
    }
    for (const auto &service : host.retiring()) {
        snap.services.push_back(status_of(*service, "retiring"));
        count_sessions(*service);
    }

    const PluginRegistry &registry = host.registry();
    for (const auto &version : registry.current_all())
        snap.plugins.push_back(status_of(*version));
    const auto steady_now = std::chrono::steady_clock::now();
    for (const DrainingVersion &d : registry.draining()) {
        DrainingStatus ds;
        ds.plugin = d.plugin;
        ds.version = d.plugin_version;
        ds.generation = d.generation;
        ds.holders = d.users;
        const auto found = sessions_by_generation.find(d.generation);
        ds.sessions = found == sessions_by_generation.end() ? 0 : found->second;
        ds.draining_seconds = std::chrono::duration<double>(steady_now - d.replaced_at).count();
        snap.draining.push_back(std::move(ds));
    }
    snap.registry = registry.stats();
    snap.reloads = history.entries();
    snap.reloads_total = history.total();
    snap.reloads_failed = history.failed();
    return snap;
}

std::string iso_time(std::chrono::system_clock::time_point t) {
    const auto micros = std::chrono::duration_cast<std::chrono::microseconds>(t.time_since_epoch()).count();
    return Poco::DateTimeFormatter::format(Poco::Timestamp(static_cast<Poco::Timestamp::TimeVal>(micros)),
                                           "%Y-%m-%dT%H:%M:%S.%iZ");
}

double unix_seconds(std::chrono::system_clock::time_point t) {
    return std::chrono::duration<double>(t.time_since_epoch()).count();
}

} // namespace portico::host
