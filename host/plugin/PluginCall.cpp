// PluginCall.cpp — one detached thread per call: calls are rare (loads and
// unloads), and a stuck one must not hold a pool thread others wait for.
#include "plugin/PluginCall.h"

#include <condition_variable>
#include <mutex>
#include <thread>
#include <utility>

#include <pthread.h>

namespace portico::host {
namespace {

struct CallState {
    std::mutex mutex;
    std::condition_variable returned;
    bool done = false;
    bool abandoned = false;
};

} // namespace

PluginCaller::PluginCaller(std::chrono::milliseconds timeout)
    : timeout_(timeout), stuck_(std::make_shared<std::atomic<uint64_t>>(0)) {}

bool PluginCaller::run(std::function<void()> fn) const {
    auto state = std::make_shared<CallState>();
    std::thread thread([state, stuck = stuck_, fn = std::move(fn)]() mutable {
        pthread_setname_np(pthread_self(), "portico-call");
        try {
            fn();
        } catch (...) {
            // The caller's fn reports its own failures; nothing may escape a thread.
        }
        fn = nullptr; // an abandoned call's library is released here, after its code returned
        std::lock_guard lock(state->mutex);
        state->done = true;
        if (state->abandoned) stuck->fetch_sub(1, std::memory_order_relaxed);
        state->returned.notify_all();
    });
    thread.detach();
    std::unique_lock lock(state->mutex);
    if (state->returned.wait_for(lock, timeout_, [&] { return state->done; })) return true;
    state->abandoned = true;
    stuck_->fetch_add(1, std::memory_order_relaxed);
    return false;
}

} // namespace portico::host
