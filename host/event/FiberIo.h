// FiberIo.h — a connection's socket as its fiber waits on it (mode events):
// registered once with the loop, edge-triggered for both directions, with
// the readiness the loop has seen remembered between waits. A wait
// suspends the fiber only when the socket has really been drained, and
// wakes it when the socket turns ready, is shut down (force_close from any
// thread), or the deadline passes. A connection that never has to wait
// yields to the rest of its loop every kIoBudget calls. A wait may also end
// on a notifier's signal: from another thread it comes through the loop's
// wake-up (EventLoop::wake), so the loop never blocks for it.
#pragma once

#include "event/EventLoop.h"
#include "net/IoWait.h"

#include <atomic>
#include <cstdint>

namespace portico::host {

class FiberIo final : public IoWait, private EventSource, private TimerNode, private NotifyWaiter, private Wakeable {
public:
    // Inside the fiber that will wait, on its loop's thread. Throws
    // std::system_error when the socket cannot be registered.
    FiberIo(EventLoop &loop, int fd);
    ~FiberIo() override;
    FiberIo(const FiberIo &) = delete;
    FiberIo &operator=(const FiberIo &) = delete;

    bool nonblocking() const override { return true; }
    Result wait(bool write, IoWait::Clock::time_point deadline) override;
    Result wait_or(Notifier *notifier, bool write, IoWait::Clock::time_point deadline, bool &notified) override;
    // Once the peer has closed (or the socket failed) a recv or send never
    // blocks again, and no new edge would come to say so: that readiness
    // stays. (A short read with the FIN already seen is not "drained".)
    void drained(bool write) override { ready_ &= ~direction(write) | sticky_; }
    bool maybe_ready(bool write) const override { return (ready_ & direction(write)) != 0; }
    void progressed() override;
    bool usable_here() const override { return Fiber::current() == &fiber_; }

    // I/O calls a fiber may make without waiting before it lets the rest of
    // its loop run: at 16KiB a call, half a MiB of a flowing stream.
    static constexpr int kIoBudget = 32;

private:
    static uint32_t direction(bool write);
    // Suspends the fiber until its socket is ready for `want`, the deadline
    // passes or (wait_or) a notifier ends the wait.
    void park(uint32_t want, IoWait::Clock::time_point deadline);
    void on_events(uint32_t events) override;
    void on_timer(TimerNode::Clock::time_point now) override;
    void wake();
    // Any thread, under the notifier's lock: asks the loop for on_wake().
    void notify() noexcept override;
    void on_wake() override;

    EventLoop &loop_;
    const int fd_;
    Fiber &fiber_;
    uint32_t ready_;       // EPOLLIN / EPOLLOUT: worth trying without waiting
    uint32_t sticky_ = 0;  // the part of ready_ that end of stream or an error made permanent
    uint32_t waiting_ = 0; // the direction the suspended fiber waits for
    bool timed_out_ = false;
    bool notify_waiting_ = false;          // the suspended fiber waits in wait_or: a notifier may end it
    std::atomic<bool> wake_posted_{false}; // an on_wake() is queued with the loop
    int unyielded_ = 0;                    // I/O calls since the fiber last waited or yielded
    IoWait::Clock::time_point deadline_{};
};

} // namespace portico::host
