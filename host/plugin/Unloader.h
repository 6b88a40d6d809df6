// Unloader.h — the registry's own thread that destroys released plugin
// versions: the unload hook, dlclose and shadow-file removal never run on a
// session's stack (which may still return into the library) nor under a lock.
// After each unload it checks /proc/self/maps that the copy is really gone.
#pragma once

#include "plugin/PluginVersion.h"

#include <chrono>
#include <condition_variable>
#include <cstdint>
#include <deque>
#include <memory>
#include <mutex>
#include <set>
#include <thread>
#include <vector>

namespace portico::host {

class Unloader {
public:
    Unloader();
    // Finishes what was posted, then joins (see stop()).
    ~Unloader();
    Unloader(const Unloader &) = delete;
    Unloader &operator=(const Unloader &) = delete;

    // Announces a version that will be posted one day; it counts as live
    // (is_live, wait_gone) until its destruction has finished.
    void track(uint64_t generation);
    // Takes ownership of a released version and destroys it on the thread.
    // After stop() the version is destroyed right here instead.
    void post(PluginVersion *version) noexcept;

    bool is_live(uint64_t generation) const;
    // Blocks until none of `generations` is live or `deadline`; true if none is.
    bool wait_gone(const std::vector<uint64_t> &generations, std::chrono::steady_clock::time_point deadline) const;
    // Blocks until everything posted so far is destroyed.
    void wait_idle() const;
    // Destroys what is queued, then ends and joins the thread. Idempotent.
    void stop();

    uint64_t unloads() const;
    uint64_t leaks() const; // unloads after which the copy was still mapped

private:
    void run();
    void destroy(std::unique_ptr<PluginVersion> version) noexcept;

    mutable std::mutex mutex_;
    mutable std::condition_variable changed_;
    std::deque<std::unique_ptr<PluginVersion>> queue_;
    bool busy_ = false;     // the thread is destroying one outside the lock
    bool stopping_ = false; // no more posts go to the thread
    std::multiset<uint64_t> live_;
    uint64_t unloads_ = 0;
    uint64_t leaks_ = 0;
    std::thread thread_; // last: starts after everything above exists
};

} // namespace portico::host
