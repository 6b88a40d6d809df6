// PluginCall.h — runs one plugin entry point (init, unload) on a thread of
// its own and waits for it with a deadline, so a plugin that never returns
// cannot wedge the host's control path. A call that misses its deadline is
// abandoned (a thread cannot be killed safely) and counted until it returns.
#pragma once

#include <atomic>
#include <chrono>
#include <cstdint>
#include <functional>
#include <memory>

namespace portico::host {

class PluginCaller {
public:
    explicit PluginCaller(std::chrono::milliseconds timeout);

    // Runs `fn` on a new thread; true once it returned, false if `timeout`
    // passed first. `fn` must own (capture by value, e.g. a shared_ptr)
    // everything it touches: an abandoned call outlives the caller's frame.
    // The thread drops `fn` before reporting it returned, so on true the
    // caller again holds the only references. Throws std::system_error when
    // no thread can be started.
    bool run(std::function<void()> fn) const;

    std::chrono::milliseconds timeout() const { return timeout_; }
    // Calls abandoned and not returned yet, over every copy of this caller.
    uint64_t stuck() const { return stuck_->load(std::memory_order_relaxed); }

private:
    std::chrono::milliseconds timeout_;
    std::shared_ptr<std::atomic<uint64_t>> stuck_;
};

} // namespace portico::host
