// SharedAdmission.h — the admission counts of one `mode: process` service,
// shared by its master and every worker so that max_connections,
// per_source_max and accept_rate hold for the service, not per worker.
// One memfd region the master creates before the first worker starts and
// passes to each (WorkerSpawn.h); each worker owns a slot whose tallies the
// master subtracts when it reaps the worker, however it died.
#pragma once

#include "config/Config.h"

#include <chrono>
#include <cstddef>
#include <cstdint>
#include <memory>
#include <optional>
#include <string_view>

namespace portico::host {

class SharedAdmission {
public:
    using Clock = std::chrono::steady_clock; // CLOCK_MONOTONIC: one clock for every process

    enum class Verdict { admitted, max_connections, per_source_max, sources_full };

    // In the master. `slots`: how many workers may be alive at once (old
    // ones draining after a reload included). Throws std::system_error.
    static std::unique_ptr<SharedAdmission> create(const ServiceConfig &config, int slots);
    // In a worker: maps the region the master created, served as `slot`.
    // Throws std::runtime_error when `fd` is not such a region.
    static std::unique_ptr<SharedAdmission> attach(int fd, int slot);
    ~SharedAdmission();
    SharedAdmission(const SharedAdmission &) = delete;
    SharedAdmission &operator=(const SharedAdmission &) = delete;

    int fd() const { return fd_; }
    int slot() const { return slot_; }

    // Master: a free slot for a new worker, or nullopt when every one is taken.
    std::optional<int> claim_slot();
    // Master, after the slot's worker was reaped: takes back what it held
    // (a crashed worker never released its connections). Returns how many.
    std::uint32_t release_slot(int slot);

    // Worker. `source` is the peer address's raw bytes ("" for a unix peer:
    // no per-source accounting). Takes one accept_rate token for `source`;
    // false when it has none (or the source table is full: see docs/config.md).
    bool take_token(std::string_view source, Clock::time_point now);
    // Counts one connection for this worker's slot if max_connections and
    // per_source_max allow it across every worker.
    Verdict admit(std::string_view source);
    // The connection admit() counted has ended.
    void release(std::string_view source);
    // True once per region: the caller logs that the source table is full.
    bool first_full_report();

    // Open connections of the whole service, and from one source.
    std::uint32_t open();
    std::uint32_t open_from(std::string_view source);

    // The region's header and per-source entries (opaque: SharedAdmission.cpp).
    struct Layout;
    struct Entry;

private:
    class Lock;
    SharedAdmission(int fd, void *base, std::size_t size, int slot);
    // The entry for `source`, inserted if `insert` (reusing one nothing
    // holds any more); nullptr when absent or the table is full.
    Entry *find(std::string_view source, bool insert, Clock::time_point now);
    bool idle(const Entry &entry, Clock::time_point now) const;
    std::uint32_t *counts(int slot);

    int fd_;
    void *base_;
    std::size_t size_;
    int slot_; // -1 in the master
    Layout *layout_;
};

} // namespace portico::host
