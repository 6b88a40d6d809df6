// PrometheusText.cpp — one HELP/TYPE block per metric family, then one sample
// per label set. Names follow Prometheus conventions (base units, _total).
#include "admin/PrometheusText.h"

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

template <class V>
void per_service(Writer &w, const StatusSnapshot &snap, const std::string &name, const char *type, const char *help,
                 const std::function<V(const ServiceStatus &)> &value) {
    w.family(name, type, help);
    for (const auto &s : snap.services)
        w.sample(name, {{"service", s.name}, {"state", s.state}}, value(s));
}

void duration_histogram(Writer &w, const StatusSnapshot &snap) {
    const std::string name = "portico_service_session_duration_seconds";
    w.family(name, "histogram", "Duration of ended sessions (connections).");
    for (const auto &s : snap.services) {
        uint64_t cumulative = 0;
        for (std::size_t i = 0; i < DurationHistogram::kBuckets; ++i) {
            cumulative += s.durations.buckets[i];
            const double le = i < DurationHistogram::kBounds.size() ? DurationHistogram::kBounds[i] : INFINITY;
            w.sample(name + "_bucket", {{"service", s.name}, {"state", s.state}, {"le", number(le)}}, cumulative);
        }
        w.sample(name + "_sum", {{"service", s.name}, {"state", s.state}}, s.durations.sum_seconds);
        w.sample(name + "_count", {{"service", s.name}, {"state", s.state}}, s.durations.count);
    }
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
    Writer w;
    w.family("portico_build_info", "gauge", "Always 1; the version is a label.");
    w.sample("portico_build_info", {{"version", snap.portico_version}}, uint64_t{1});
    w.family("portico_start_time_seconds", "gauge", "When the host started, seconds since the Unix epoch.");
    w.sample("portico_start_time_seconds", {}, unix_seconds(snap.started_at));
    w.family("portico_ready", "gauge", "1 when every service is bound and the host is not stopping.");
    w.sample("portico_ready", {}, uint64_t{snap.ready ? 1u : 0u});

    w.family("portico_service_info", "gauge", "Always 1; what each service is bound to.");
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
    per_service<uint64_t>(w, snap, "portico_service_connections_total", "counter", "Connections handed to a handler.",
                          [](const auto &s) { return s.accepted; });
    per_service<int64_t>(w, snap, "portico_service_connections_active", "gauge", "Sessions open now.",
                         [](const auto &s) { return s.active; });
    per_service<uint64_t>(w, snap, "portico_service_connections_refused_total", "counter",
                          "Connections turned away by limits.", [](const auto &s) { return s.refused; });
    per_service<uint64_t>(w, snap, "portico_service_handler_errors_total", "counter", "Sessions whose handler failed.",
                          [](const auto &s) { return s.handler_errors; });
    per_service<uint64_t>(w, snap, "portico_service_timeouts_total", "counter",
                          "Sessions that ended on an idle, read or write timeout.",
                          [](const auto &s) { return s.timeouts; });
    per_service<uint64_t>(w, snap, "portico_service_received_bytes_total", "counter",
                          "Bytes read from peers (counted when a session ends).",
                          [](const auto &s) { return s.bytes_in; });
    per_service<uint64_t>(w, snap, "portico_service_sent_bytes_total", "counter",
                          "Bytes written to peers (counted when a session ends).",
                          [](const auto &s) { return s.bytes_out; });
    duration_histogram(w, snap);

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
