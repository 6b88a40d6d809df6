// ServiceCounters.h — what one service has done since it started; read by
// status and metrics, written lock-free from the sessions.
#pragma once

#include "service/DurationHistogram.h"

#include <array>
#include <atomic>
#include <cstddef>
#include <cstdint>
#include <string_view>

namespace portico::host {

// Why a connection (or a UDP datagram) was turned away; a metrics label each.
enum class RefusalReason : std::size_t {
    allow_deny,      // the source is denied or not allowed
    accept_rate,     // the source exceeds accept_rate
    per_source_max,  // the source has per_source_max connections open
    max_connections, // the service has max_connections open
    queue_full,      // every worker busy and max_queued waiting
    queue_timeout,   // waited in the queue past queue_timeout
    no_resources,    // out of descriptors or memory for the session
    rate_limit,      // UDP: the source exceeds rate_limit
    once,            // portico --once: the service has taken its one connection
    proxy_from,      // PROXY protocol: the peer is not a proxy listed in proxy_from
    proxy_header,    // PROXY protocol: no valid header (missing, invalid, truncated, late)
    count_
};
inline constexpr std::array<std::string_view, static_cast<std::size_t>(RefusalReason::count_)> kRefusalReasonNames{
    "allow_deny",   "accept_rate", "per_source_max", "max_connections", "queue_full",  "queue_timeout",
    "no_resources", "rate_limit",  "once",           "proxy_from",      "proxy_header"};

// Why a UDP datagram that was let in was never handled.
enum class DropReason : std::size_t {
    oversized,           // larger than max_datagram
    queue_full,          // every worker busy and max_queued waiting
    discarded,           // still queued at shutdown, or for a plugin version a reload replaced
    unaddressable_reply, // a reply to a unix: client that bound no path of its own: nowhere to send it
    count_
};
inline constexpr std::array<std::string_view, static_cast<std::size_t>(DropReason::count_)> kDropReasonNames{
    "oversized", "queue_full", "discarded", "unaddressable_reply"};

struct ServiceCounters {
    std::atomic<uint64_t> accepted{0};  // TCP: connections handed to a handler
    std::atomic<uint64_t> datagrams{0}; // UDP: datagrams handed to a handler
    std::atomic<int64_t> active{0};     // sessions (UDP: datagrams being handled) running now
    std::atomic<uint64_t> refused{0};   // turned away (limits, queue full): the sum of refused_by
    std::array<std::atomic<uint64_t>, static_cast<std::size_t>(RefusalReason::count_)> refused_by{};
    std::atomic<uint64_t> dropped{0}; // UDP: datagrams discarded unhandled: the sum of dropped_by
    std::array<std::atomic<uint64_t>, static_cast<std::size_t>(DropReason::count_)> dropped_by{};
    std::atomic<uint64_t> handler_errors{0};  // handler threw or failed
    std::atomic<uint64_t> timeouts{0};        // idle/read/write timeouts
    std::atomic<uint64_t> bytes_in{0};        // counted as they are read, not when the session ends
    std::atomic<uint64_t> bytes_out{0};       // counted as they are written
    std::atomic<uint64_t> workers_spawned{0}; // mode process: worker processes started
    std::atomic<uint64_t> worker_crashes{0};  // mode process: workers that died unasked (signal, failure exit)
    DurationHistogram session_duration;       // of ended sessions; UDP: of each datagram's handling

    void count_refusal(RefusalReason reason, uint64_t n = 1) {
        refused.fetch_add(n, std::memory_order_relaxed);
        refused_by[static_cast<std::size_t>(reason)].fetch_add(n, std::memory_order_relaxed);
    }
    void count_drop(DropReason reason, uint64_t n = 1) {
        dropped.fetch_add(n, std::memory_order_relaxed);
        dropped_by[static_cast<std::size_t>(reason)].fetch_add(n, std::memory_order_relaxed);
    }
};

} // namespace portico::host
