// TimerHeap.h — the deadlines an event loop watches: a binary min-heap of
// intrusive nodes, each knowing its own slot, so scheduling, moving and
// cancelling are O(log n) without allocating (the vector only grows).
#pragma once

#include <chrono>
#include <cstddef>
#include <limits>
#include <optional>
#include <vector>

namespace portico::host {

class TimerNode {
public:
    using Clock = std::chrono::steady_clock;
    static constexpr std::size_t unscheduled = std::numeric_limits<std::size_t>::max();

    virtual ~TimerNode() = default;
    // Called by the loop once `at()` has passed; the node is unscheduled by then.
    virtual void on_timer(Clock::time_point now) = 0;

    bool scheduled() const { return slot_ != unscheduled; }
    Clock::time_point at() const { return at_; }

private:
    friend class TimerHeap;
    Clock::time_point at_{};
    std::size_t slot_ = unscheduled;
};

class TimerHeap {
public:
    using Clock = TimerNode::Clock;

    // Schedules node at `at`, or moves it there if it is already scheduled.
    void schedule(TimerNode &node, Clock::time_point at);
    void cancel(TimerNode &node);
    // The earliest time scheduled, if any.
    std::optional<Clock::time_point> next() const;
    // Removes and returns a node due at `now`, or nullptr when none is.
    TimerNode *pop_due(Clock::time_point now);
    std::size_t size() const { return nodes_.size(); }

private:
    void place(std::size_t slot, TimerNode *node);
    void sift_up(std::size_t slot);
    void sift_down(std::size_t slot);

    std::vector<TimerNode *> nodes_;
};

} // namespace portico::host
