// Deadline.h — a point in time every blocking harness call must respect, and
// wait_until() for conditions no event announces (poll with a short period).
#pragma once

#include <algorithm>
#include <chrono>
#include <thread>

namespace portico::test {

using Millis = std::chrono::milliseconds;
using namespace std::chrono_literals;

class Deadline {
  public:
    explicit Deadline(Millis timeout) : end_(std::chrono::steady_clock::now() + timeout) {}

    bool expired() const { return std::chrono::steady_clock::now() >= end_; }
    Millis remaining() const {
        const auto left = std::chrono::duration_cast<Millis>(end_ - std::chrono::steady_clock::now());
        return std::max(left, Millis(0));
    }
    // For poll(2): the remaining time in ms, at least 0.
    int poll_ms() const { return static_cast<int>(remaining().count()); }
    std::chrono::steady_clock::time_point time_point() const { return end_; }

  private:
    std::chrono::steady_clock::time_point end_;
};

// Calls `condition` every `period` until it returns true (→ true) or the
// timeout passes (→ false, after one last check).
template <class Condition>
bool wait_until(Condition &&condition, Millis timeout, Millis period = 5ms) {
    const Deadline deadline(timeout);
    while (!condition()) {
        if (deadline.expired()) return condition();
        std::this_thread::sleep_for(std::min(period, deadline.remaining()));
    }
    return true;
}

} // namespace portico::test
