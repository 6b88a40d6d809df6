// PrometheusText.cpp — one HELP/TYPE block per metric family, then one sample
// per label set. Names follow Prometheus conventions (base units, _total).
#include "admin/PrometheusText.h"

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <functional>

namespace portico::host {
namespace {

std::string number(double v) {
    if (std::isinf(v)) return v > 0 ? "+Inf" : "-Inf";
    // The shortest text that reads back as the same double: le="0.05", not 0.05000000000000000277.
    char buf[40];
    if (v == std::floor(v) && std::fabs(v) < 1e15) {
        std::snprintf(buf, sizeof buf, "%.0f", v);
        return buf;
    }
    for (int precision = 1; precision <= 17; ++precision) {
        std::snprintf(buf, sizeof buf, "%.*g", precision, v);
        if (std::strtod(buf, nullptr) == v) break;
    }
    return buf;
}

std::string number(uint64_t v) {
    return std::to_string(v);
}
std::string number(int64_t v) {
    return std::to_string(v);
}

using Labels = std::vector<std::pair<std::string, std::string>>;

std::string label_text(const Labels &labels) {
    if (labels.empty()) return {};
    std::string out = "{";
    for (const auto &[key, value] : labels) {
        if (out.size() > 1) out += ",";
        out += key + "=\"" + prometheus_label_value(value) + "\"";
    }
    return out + "}";
}

class Writer {
public:
    void family(const std::string &name, const char *type, const char *help) {
        out_ += "# HELP " + name + " " + help + "\n# TYPE " + name + " " + type + "\n";
    }
    template <class V> void sample(const std::string &name, const Labels &labels, V value) {
        out_ += name + label_text(labels) + " " + number(value) + "\n";
    }
    std::string take() { return std::move(out_); }

private:
    std::string out_;
};

// Labelled by service only: a service's series keep their identity when it
// goes from serving to retiring (state is on portico_service_info), so rate() works.
template <class V>
void per_service(Writer &w, const StatusSnapshot &snap, const std::string &name, const char *type, const char *help,
                 const std::function<V(const ServiceStatus &)> &value,
                 const std::function<bool(const ServiceStatus &)> &applies = {}) {
    w.family(name, type, help);
    for (const auto &s : snap.services)
        if (!applies || applies(s)) w.sample(name, {{"service", s.name}}, value(s));
}

bool is_udp(const ServiceStatus &s) {
    return s.protocol == "udp";
}
bool is_tcp(const ServiceStatus &s) {
    return !is_udp(s);
}

// Every reason that can happen to the service is written, zero or not, so a
// first refusal is a change of a series rather than a new one.
void refusals(Writer &w, const StatusSnapshot &snap) {
    const std::string name = "portico_service_connections_refused_total";
    w.family(name, "counter", "Connections (UDP: datagrams) turned away, by reason.");
    for (const auto &s : snap.services)
        for (std::size_t i = 0; i < s.counts.refused_by.size(); ++i) {
            const auto reason = static_cast<RefusalReason>(i);
            const bool possible = is_udp(s) ? reason == RefusalReason::allow_deny || reason == RefusalReason::rate_limit
                                            : reason != RefusalReason::rate_limit;
            if (possible)
                w.sample(name, {{"service", s.name}, {"reason", std::string(kRefusalReasonNames[i])}},
                         s.counts.refused_by[i]);
        }
}

void drops(Writer &w, const StatusSnapshot &snap) {
    const std::string name = "portico_service_datagrams_dropped_total";
    w.family(name, "counter", "UDP datagrams let in but never handled, by reason.");
    for (const auto &s : snap.services)
        if (is_udp(s))
            for (std::size_t i = 0; i < s.counts.dropped_by.size(); ++i)
                w.sample(name, {{"service", s.name}, {"reason", std::string(kDropReasonNames[i])}},
                         s.counts.dropped_by[i]);
}

// The standard process_* families, as the Prometheus client libraries name them.
void process_metrics(Writer &w, const ProcessStats &p) {
    if (!p.available) return;
    w.family("process_cpu_seconds_total", "counter", "User and system CPU time spent, in seconds.");
    w.sample("process_cpu_seconds_total", {}, p.cpu_seconds);
    w.family("process_resident_memory_bytes", "gauge", "Resident memory size in bytes.");
    w.sample("process_resident_memory_bytes", {}, p.resident_bytes);
    w.family("process_virtual_memory_bytes", "gauge", "Virtual memory size in bytes.");
    w.sample("process_virtual_memory_bytes", {}, p.virtual_bytes);
    w.family("process_open_fds", "gauge", "Open file descriptors.");
    w.sample("process_open_fds", {}, p.open_fds);
    w.family("process_max_fds", "gauge", "The limit of open file descriptors (soft RLIMIT_NOFILE).");
    w.sample("process_max_fds", {}, p.max_fds);
    w.family("process_start_time_seconds", "gauge", "When the process started, seconds since the Unix epoch.");
    w.sample("process_start_time_seconds", {}, p.start_time_seconds);
    w.family("process_threads", "gauge", "Threads of the process.");
    w.sample("process_threads", {}, p.threads);
}

void duration_histogram(Writer &w, const StatusSnapshot &snap) {
    const std::string name = "portico_service_session_duration_seconds";
    w.family(name, "histogram", "Duration of ended sessions (connections); UDP: of each datagram's handling.");
    for (const auto &s : snap.services) {
        uint64_t cumulative = 0;
        for (std::size_t i = 0; i < DurationHistogram::kBuckets; ++i) {
            cumulative += s.counts.durations.buckets[i];
            const double le = i < DurationHistogram::kBounds.size() ? DurationHistogram::kBounds[i] : INFINITY;
            w.sample(name + "_bucket", {{"service", s.name}, {"le", number(le)}}, cumulative);
        }
        w.sample(name + "_sum", {{"service", s.name}}, s.counts.durations.sum_seconds);
        w.sample(name + "_count", {{"service", s.name}}, s.counts.durations.count);
    }
}

// One entry per service name: a config reload that replaces a service leaves
// the old instance retiring next to the new one, and their counts add up
// under the one series {service="name"}.
std::vector<ServiceStatus> merge_by_name(const std::vector<ServiceStatus> &services) {
    std::vector<ServiceStatus> out;
    for (const ServiceStatus &s : services) {
        const auto same =
            std::find_if(out.begin(), out.end(), [&](const ServiceStatus &o) { return o.name == s.name; });
        if (same == out.end()) {
            out.push_back(s);
            continue;
        }
        ServiceStatus &m = *same;
        m.counts += s.counts;
        for (const WorkerFigures &w : s.workers) {
            const auto slot = std::find_if(m.workers.begin(), m.workers.end(),
                                           [&](const WorkerFigures &o) { return o.slot == w.slot; });
            if (slot == m.workers.end()) {
                m.workers.push_back(w);
                continue;
            }
            slot->counts += w.counts;
            slot->restarts += w.restarts;
        }
    }
    return out;
}

// Mode process: the same figures per worker slot, in families of their own
// (portico_worker_*) so that sum() over a portico_service_* family never
// counts a worker twice.
template <class V>
void per_worker(Writer &w, const StatusSnapshot &snap, const std::string &name, const char *type, const char *help,
                const std::function<V(const WorkerFigures &)> &value) {
    bool any = false;
    for (const auto &s : snap.services)
        any = any || !s.workers.empty();
    if (!any) return;
    w.family(name, type, help);
    for (const auto &s : snap.services)
        for (const WorkerFigures &f : s.workers)
            w.sample(name, {{"service", s.name}, {"worker", std::to_string(f.slot)}}, value(f));
}

void worker_metrics(Writer &w, const StatusSnapshot &snap) {
    per_worker<uint64_t>(w, snap, "portico_worker_connections_total", "counter",
                         "Mode process: TCP connections handed to a handler in this worker slot.",
                         [](const auto &f) { return f.counts.accepted; });
    per_worker<int64_t>(w, snap, "portico_worker_connections_active", "gauge",
                        "Mode process: sessions open now in this worker slot.",
                        [](const auto &f) { return f.counts.active; });
    per_worker<uint64_t>(w, snap, "portico_worker_connections_refused_total", "counter",
                         "Mode process: connections this worker slot turned away.",
                         [](const auto &f) { return f.counts.refused; });
    per_worker<uint64_t>(w, snap, "portico_worker_handler_errors_total", "counter",
                         "Mode process: sessions whose handler failed in this worker slot.",
                         [](const auto &f) { return f.counts.handler_errors; });
    per_worker<uint64_t>(w, snap, "portico_worker_received_bytes_total", "counter",
                         "Mode process: bytes read from peers in this worker slot.",
                         [](const auto &f) { return f.counts.bytes_in; });
    per_worker<uint64_t>(w, snap, "portico_worker_sent_bytes_total", "counter",
                         "Mode process: bytes written to peers in this worker slot.",
                         [](const auto &f) { return f.counts.bytes_out; });
    per_worker<uint64_t>(w, snap, "portico_worker_sessions_ended_total", "counter",
                         "Mode process: sessions that ended in this worker slot.",
                         [](const auto &f) { return f.counts.durations.count; });
    per_worker<uint64_t>(w, snap, "portico_worker_restarts_total", "counter",
                         "Mode process: workers started in this slot after its first (crashes, plugin reloads).",
                         [](const auto &f) { return f.restarts; });
}

} // namespace

std::string prometheus_label_value(const std::string &value) {
    std::string out;
    for (const char c : value) {
        if (c == '\\')
            out += "\\\\";
        else if (c == '"')
            out += "\\\"";
        else if (c == '\n')
            out += "\\n";
        else
            out += c;
    }
    return out;
}

std::string prometheus_text(const StatusSnapshot &snap) {
    StatusSnapshot merged = snap;
    merged.services = merge_by_name(snap.services);
    Writer w;
    w.family("portico_build_info", "gauge", "Always 1; the version is a label.");
    w.sample("portico_build_info", {{"version", snap.portico_version}}, uint64_t{1});
    w.family("portico_start_time_seconds", "gauge", "When the host started, seconds since the Unix epoch.");
    w.sample("portico_start_time_seconds", {}, unix_seconds(snap.started_at));
    w.family("portico_ready", "gauge", "1 when every service is bound and the host is not stopping.");
    w.sample("portico_ready", {}, uint64_t{snap.ready ? 1u : 0u});
    process_metrics(w, snap.process);

    w.family("portico_service_info", "gauge", "Always 1; what each service is bound to and its state.");
    for (const auto &s : snap.services)
        w.sample("portico_service_info",
                 {{"service", s.name},
                  {"state", s.state},
                  {"address", s.address},
                  {"protocol", s.protocol},
                  {"mode", s.mode},
                  {"handler", s.handler},
                  {"plugin_version", s.plugin_version},
                  {"generation", std::to_string(s.generation)}},
                 uint64_t{1});
    per_service<uint64_t>(
        w, merged, "portico_service_connections_total", "counter", "TCP connections handed to a handler.",
        [](const auto &s) { return s.counts.accepted; }, is_tcp);
    per_service<uint64_t>(
        w, merged, "portico_service_datagrams_total", "counter", "UDP datagrams handed to a handler.",
        [](const auto &s) { return s.counts.datagrams; }, is_udp);
    per_service<int64_t>(w, merged, "portico_service_connections_active", "gauge",
                         "Sessions open now (UDP: datagrams being handled).",
                         [](const auto &s) { return s.counts.active; });
    refusals(w, merged);
    drops(w, merged);
    per_service<uint64_t>(w, merged, "portico_service_handler_errors_total", "counter",
                          "Sessions whose handler failed.", [](const auto &s) { return s.counts.handler_errors; });
    per_service<uint64_t>(w, merged, "portico_service_timeouts_total", "counter",
                          "Sessions that ended on an idle, read or write timeout.",
                          [](const auto &s) { return s.counts.timeouts; });
    per_service<uint64_t>(w, merged, "portico_service_received_bytes_total", "counter",
                          "Bytes read from peers, counted as they arrive.",
                          [](const auto &s) { return s.counts.bytes_in; });
    per_service<uint64_t>(w, merged, "portico_service_sent_bytes_total", "counter",
                          "Bytes written to peers, counted as they are sent.",
                          [](const auto &s) { return s.counts.bytes_out; });
    duration_histogram(w, merged);
    worker_metrics(w, merged);

    w.family("portico_plugin_info", "gauge", "Always 1; the current version of each plugin.");
    for (const auto &p : snap.plugins)
        w.sample("portico_plugin_info",
                 {{"plugin", p.name},
                  {"version", p.version},
                  {"file", p.file},
                  {"sha256", p.sha256},
                  {"generation", std::to_string(p.generation)}},
                 uint64_t{1});
    w.family("portico_plugin_loaded_timestamp_seconds", "gauge", "When the current version was loaded.");
    for (const auto &p : snap.plugins)
        w.sample("portico_plugin_loaded_timestamp_seconds", {{"plugin", p.name}}, unix_seconds(p.loaded_at));
    w.family("portico_plugin_draining_sessions", "gauge", "Open sessions on a replaced plugin version.");
    for (const auto &d : snap.draining)
        w.sample("portico_plugin_draining_sessions",
                 {{"plugin", d.plugin}, {"version", d.version}, {"generation", std::to_string(d.generation)}},
                 d.sessions);
    w.family("portico_plugin_loads_total", "counter", "Plugin load attempts by result.");
    w.sample("portico_plugin_loads_total", {{"result", "ok"}}, snap.registry.loads_ok);
    w.sample("portico_plugin_loads_total", {{"result", "failed"}}, snap.registry.loads_failed);
    w.family("portico_plugin_unloads_total", "counter", "Plugin versions unloaded.");
    w.sample("portico_plugin_unloads_total", {}, snap.registry.unloads);
    w.family("portico_plugin_unload_leaks_total", "counter", "Unloads whose mapping stayed (dlclose no-op).");
    w.sample("portico_plugin_unload_leaks_total", {}, snap.registry.unload_leaks);
    w.family("portico_plugin_stuck_calls", "gauge",
             "Plugin init/unload calls past plugins.call_timeout, not returned.");
    w.sample("portico_plugin_stuck_calls", {}, snap.registry.stuck_calls);

    w.family("portico_reloads_total", "counter", "Reloads requested (admin, SIGHUP), by result.");
    w.sample("portico_reloads_total", {{"result", "ok"}}, snap.reloads_total - snap.reloads_failed);
    w.sample("portico_reloads_total", {{"result", "error"}}, snap.reloads_failed);
    return w.take();
}

} // namespace portico::host
