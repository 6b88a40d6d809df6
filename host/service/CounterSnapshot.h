// CounterSnapshot.h — a ServiceCounters copied out as plain values, so figures
// from several places (a mode process service's workers, live and gone) can
// be added up and handed to status and metrics.
#pragma once

#include "service/DurationHistogram.h"
#include "service/ServiceCounters.h"

#include <array>
#include <cstddef>
#include <cstdint>
#include <sys/types.h>
#include <vector>

namespace portico::host {

struct CounterSnapshot {
    uint64_t accepted = 0;
    uint64_t datagrams = 0;
    int64_t active = 0;
    uint64_t refused = 0;
    std::array<uint64_t, static_cast<std::size_t>(RefusalReason::count_)> refused_by{};
    uint64_t dropped = 0;
    std::array<uint64_t, static_cast<std::size_t>(DropReason::count_)> dropped_by{};
    uint64_t handler_errors = 0;
    uint64_t timeouts = 0;
    uint64_t bytes_in = 0;
    uint64_t bytes_out = 0;
    DurationHistogram::Snapshot durations;

    static CounterSnapshot of(const ServiceCounters &counters);
    CounterSnapshot &operator+=(const CounterSnapshot &other);
};

// One worker slot of a mode process service (slot i is the i-th of
// `workers`): what every worker that held the slot did, the dead ones
// included, so a slot's counts never go backwards across restarts.
struct WorkerFigures {
    int slot = 0;
    pid_t pid = 0;          // the worker serving the slot now; 0 while none is
    uint64_t restarts = 0;  // workers started in the slot after its first
    CounterSnapshot counts; // active: of the live workers only
};

} // namespace portico::host
