// ReloadHistory.h — the last reloads (time, scope, trigger, what changed or
// why nothing did) for /status and the status page. Thread-safe: the admin
// thread, the signal loop and the file watcher all record into it.
#pragma once

#include <chrono>
#include <cstddef>
#include <cstdint>
#include <deque>
#include <mutex>
#include <string>
#include <vector>

namespace portico::host {

struct ReloadRecord {
    std::chrono::system_clock::time_point at;
    std::string scope;   // plugins | config | all
    std::string trigger; // admin | SIGHUP | watcher | …
    std::vector<std::string> changes;
    std::vector<std::string> errors;
    bool ok() const { return errors.empty(); }
};

class ReloadHistory {
public:
    static constexpr std::size_t kCapacity = 20;

    void record(ReloadRecord record);
    // Oldest first, at most kCapacity.
    std::vector<ReloadRecord> entries() const;
    // Since start, including those that fell out of entries().
    uint64_t total() const;
    uint64_t failed() const;

private:
    mutable std::mutex mutex_;
    std::deque<ReloadRecord> entries_;
    uint64_t total_ = 0;
    uint64_t failed_ = 0;
};

} // namespace portico::host
