// StatusJson.cpp — built with Poco::JSON, keys in the order a reader expects.
#include "admin/StatusJson.h"

#include <Poco/JSON/Array.h>
#include <Poco/JSON/Object.h>

#include <sstream>

namespace portico::host {
namespace {

using Poco::JSON::Array;
using Poco::JSON::Object;

Object::Ptr ordered() {
    return new Object(Poco::JSON_PRESERVE_KEY_ORDER);
}

Array::Ptr strings(const std::vector<std::string> &items) {
    Array::Ptr array = new Array;
    for (const auto &item : items)
        array->add(item);
    return array;
}

// Mode process: one entry per worker slot; its counts include the workers
// that held the slot before (crashed or replaced), so they never go back.
Array::Ptr workers_json(const std::vector<WorkerFigures> &workers) {
    Array::Ptr array = new Array;
    for (const WorkerFigures &w : workers) {
        Object::Ptr o = ordered();
        o->set("worker", w.slot);
        o->set("pid", static_cast<Poco::Int64>(w.pid));
        o->set("restarts", w.restarts);
        Object::Ptr conns = ordered();
        conns->set("active", w.counts.active);
        conns->set("total", w.counts.accepted);
        conns->set("refused", w.counts.refused);
        o->set("connections", conns);
        o->set("handler_errors", w.counts.handler_errors);
        o->set("timeouts", w.counts.timeouts);
        o->set("bytes_in", w.counts.bytes_in);
        o->set("bytes_out", w.counts.bytes_out);
        o->set("sessions_ended", w.counts.durations.count);
        array->add(o);
    }
    return array;
}

Object::Ptr service_json(const ServiceStatus &s) {
    Object::Ptr o = ordered();
    o->set("name", s.name);
    o->set("state", s.state);
    o->set("address", s.address);
    o->set("protocol", s.protocol);
    o->set("mode", s.mode);
    o->set("handler", s.handler);
    o->set("plugin", s.plugin);
    o->set("plugin_version", s.plugin_version);
    o->set("generation", s.generation);
    o->set("access_log", s.access_log);
    Object::Ptr conns = ordered();
    conns->set("active", s.counts.active);
    conns->set("total", s.counts.accepted);
    conns->set("refused", s.counts.refused);
    Object::Ptr refused_by = ordered();
    for (std::size_t i = 0; i < s.counts.refused_by.size(); ++i)
        if (s.counts.refused_by[i] > 0) refused_by->set(std::string(kRefusalReasonNames[i]), s.counts.refused_by[i]);
    conns->set("refused_by", refused_by);
    o->set("connections", conns);
    if (s.protocol == "udp") {
        Object::Ptr datagrams = ordered();
        datagrams->set("handled", s.counts.datagrams);
        datagrams->set("dropped", s.counts.dropped);
        Object::Ptr dropped_by = ordered();
        for (std::size_t i = 0; i < s.counts.dropped_by.size(); ++i)
            dropped_by->set(std::string(kDropReasonNames[i]), s.counts.dropped_by[i]);
        datagrams->set("dropped_by", dropped_by);
        o->set("datagrams", datagrams);
    }
    o->set("handler_errors", s.counts.handler_errors);
    o->set("timeouts", s.counts.timeouts);
    o->set("bytes_in", s.counts.bytes_in);
    o->set("bytes_out", s.counts.bytes_out);
    Object::Ptr sessions = ordered();
    sessions->set("ended", s.counts.durations.count);
    sessions->set("duration_seconds_sum", s.counts.durations.sum_seconds);
    o->set("sessions", sessions);
    if (!s.workers.empty()) o->set("workers", workers_json(s.workers));
    return o;
}

Object::Ptr plugin_json(const PluginStatus &p) {
    Object::Ptr o = ordered();
    o->set("name", p.name);
    o->set("version", p.version);
    o->set("file", p.file);
    o->set("sha256", p.sha256);
    o->set("loaded_at", iso_time(p.loaded_at));
    o->set("generation", p.generation);
    o->set("handlers", strings(p.handlers));
    return o;
}

Object::Ptr draining_json(const DrainingStatus &d) {
    Object::Ptr o = ordered();
    o->set("plugin", d.plugin);
    o->set("version", d.version);
    o->set("generation", d.generation);
    o->set("sessions", d.sessions);
    o->set("holders", static_cast<Poco::Int64>(d.holders));
    o->set("draining_seconds", d.draining_seconds);
    return o;
}

Object::Ptr reload_object(const ReloadRecord &r) {
    Object::Ptr o = ordered();
    o->set("time", iso_time(r.at));
    o->set("scope", r.scope);
    o->set("trigger", r.trigger);
    o->set("ok", r.ok());
    o->set("changes", strings(r.changes));
    o->set("errors", strings(r.errors));
    return o;
}

std::string to_text(const Object::Ptr &o) {
    std::ostringstream out;
    o->stringify(out, 2);
    out << "\n";
    return out.str();
}

} // namespace

std::string status_json(const StatusSnapshot &snap) {
    Object::Ptr root = ordered();
    Object::Ptr host = ordered();
    host->set("version", snap.portico_version);
    host->set("pid", static_cast<Poco::Int64>(snap.pid));
    host->set("started_at", iso_time(snap.started_at));
    host->set("now", iso_time(snap.now));
    host->set("uptime_seconds", std::chrono::duration<double>(snap.now - snap.started_at).count());
    host->set("ready", snap.ready);
    if (!snap.not_ready_reason.empty()) host->set("not_ready_reason", snap.not_ready_reason);
    if (snap.process.available) {
        Object::Ptr process = ordered();
        process->set("cpu_seconds", snap.process.cpu_seconds);
        process->set("resident_memory_bytes", snap.process.resident_bytes);
        process->set("open_fds", snap.process.open_fds);
        process->set("max_fds", snap.process.max_fds);
        process->set("threads", snap.process.threads);
        host->set("process", process);
    }
    root->set("host", host);

    Array::Ptr services = new Array;
    for (const auto &s : snap.services)
        services->add(service_json(s));
    root->set("services", services);

    Array::Ptr plugins = new Array;
    for (const auto &p : snap.plugins)
        plugins->add(plugin_json(p));
    root->set("plugins", plugins);

    Array::Ptr draining = new Array;
    for (const auto &d : snap.draining)
        draining->add(draining_json(d));
    root->set("draining", draining);

    Object::Ptr registry = ordered();
    registry->set("loads_ok", snap.registry.loads_ok);
    registry->set("loads_failed", snap.registry.loads_failed);
    registry->set("unloads", snap.registry.unloads);
    registry->set("unload_leaks", snap.registry.unload_leaks);
    registry->set("stuck_plugin_calls", snap.registry.stuck_calls);
    registry->set("last_error", snap.registry.last_error);
    const bool has_error_time = snap.registry.last_error_at.time_since_epoch().count() != 0;
    registry->set("last_error_at", has_error_time ? iso_time(snap.registry.last_error_at) : std::string());
    root->set("registry", registry);

    Object::Ptr reloads = ordered();
    reloads->set("total", snap.reloads_total);
    reloads->set("failed", snap.reloads_failed);
    Array::Ptr history = new Array;
    // Newest first: what an operator looks for.
    for (auto it = snap.reloads.rbegin(); it != snap.reloads.rend(); ++it)
        history->add(reload_object(*it));
    reloads->set("history", history);
    root->set("reloads", reloads);
    return to_text(root);
}

std::string reload_json(const ReloadRecord &record) {
    return to_text(reload_object(record));
}

} // namespace portico::host
