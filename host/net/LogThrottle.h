// LogThrottle.h — lets a hot path (a UDP receive loop under a flood) log a
// recurring problem at most once per period, and say how many occurrences
// the silence covered, so logs stay readable and the disk stays free.
// Not thread-safe: one throttle per thread that uses it.
#pragma once

#include <chrono>
#include <cstdint>

namespace portico::host {

class LogThrottle {
public:
    using Clock = std::chrono::steady_clock;

    explicit LogThrottle(Clock::duration period = std::chrono::seconds(1)) : period_(period) {}

    // Counts one occurrence. True if this one should be logged; *suppressed
    // then holds how many were not logged since the previous line.
    bool allow(Clock::time_point now, uint64_t *suppressed) {
        if (logged_once_ && now - last_ < period_) {
            ++suppressed_;
            return false;
        }
        logged_once_ = true;
        last_ = now;
        *suppressed = suppressed_;
        suppressed_ = 0;
        return true;
    }

private:
    Clock::duration period_;
    Clock::time_point last_{};
    bool logged_once_ = false;
    uint64_t suppressed_ = 0;
};

} // namespace portico::host
