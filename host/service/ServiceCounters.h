// ServiceCounters.h — what one service has done since it started; read by
// status and metrics, written lock-free from the sessions.
#pragma once

#include "service/DurationHistogram.h"

#include <atomic>
#include <cstdint>

namespace portico::host {

struct ServiceCounters {
    std::atomic<uint64_t> accepted{0};       // connections handed to a handler
    std::atomic<int64_t> active{0};          // sessions running now
    std::atomic<uint64_t> refused{0};        // turned away (limits, queue full)
    std::atomic<uint64_t> dropped{0};        // UDP: datagrams discarded unhandled (oversized, queue full)
    std::atomic<uint64_t> handler_errors{0}; // handler threw or failed
    std::atomic<uint64_t> timeouts{0};       // idle/read/write timeouts
    std::atomic<uint64_t> bytes_in{0};
    std::atomic<uint64_t> bytes_out{0};
    std::atomic<uint64_t> workers_spawned{0}; // mode process: worker processes started
    std::atomic<uint64_t> worker_crashes{0};  // mode process: workers that died unasked (signal, failure exit)
    DurationHistogram session_duration;       // of ended sessions
};

} // namespace portico::host
