// StatusSnapshot.h — everything /status, /metrics and the status page show,
// copied out of the running host at one moment as plain values, so the
// renderers (StatusJson, PrometheusText) need no locks and can be tested
// without a host.
#pragma once

#include "admin/ProcessStats.h"
#include "app/ReloadHistory.h"
#include "plugin/PluginRegistry.h"
#include "service/CounterSnapshot.h"
#include "service/DurationHistogram.h"
#include "service/ServiceCounters.h"

#include <array>
#include <chrono>
#include <cstdint>
#include <string>
#include <vector>

namespace portico::host {

class Host;

struct ServiceStatus {
    std::string name;
    std::string state; // serving | retiring (replaced or removed by a config reload, draining)
    std::string address;
    std::string protocol; // tcp | udp
    std::string mode;     // threads | single | process | events
    std::string handler;  // plugin.handler
    std::string plugin;
    std::string plugin_version;
    uint64_t generation = 0;
    bool access_log = false;
    CounterSnapshot counts;             // accepted: TCP connections; datagrams: UDP datagrams handled
    std::vector<WorkerFigures> workers; // mode process: per worker slot (`counts` is their total)
};

struct PluginStatus {
    std::string name;
    std::string version;
    std::string file;
    std::string sha256;
    std::chrono::system_clock::time_point loaded_at;
    uint64_t generation = 0;
    std::vector<std::string> handlers;
};

struct DrainingStatus {
    std::string plugin;
    std::string version;
    uint64_t generation = 0;
    uint64_t sessions = 0; // open sessions still running on this version
    long holders = 0;      // references besides the registry's (bindings, sessions)
    double draining_seconds = 0;
};

struct StatusSnapshot {
    std::string portico_version;
    long pid = 0;
    std::chrono::system_clock::time_point started_at;
    std::chrono::system_clock::time_point now;
    bool ready = false;
    std::string not_ready_reason; // what /ready says after "not ready: "; "" when nothing holds it down
    ProcessStats process;
    std::vector<ServiceStatus> services;
    std::vector<PluginStatus> plugins;
    std::vector<DrainingStatus> draining;
    RegistryStats registry;
    std::vector<ReloadRecord> reloads; // oldest first
    uint64_t reloads_total = 0;
    uint64_t reloads_failed = 0;
};

// Ready: every service is bound and none is stopping.
bool services_ready(const Host &host);

StatusSnapshot take_snapshot(const Host &host, const ReloadHistory &history,
                             std::chrono::system_clock::time_point started_at, bool accepting);

// RFC 3339 / ISO 8601 UTC with milliseconds: 2026-01-31T12:00:00.123Z
std::string iso_time(std::chrono::system_clock::time_point t);
// Seconds since the Unix epoch, with fractions.
double unix_seconds(std::chrono::system_clock::time_point t);

} // namespace portico::host
