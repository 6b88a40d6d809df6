// EventLoop.h — one thread of a `mode: events` service: an epoll set, the
// fibers it runs (one per connection, see Fiber.h), and their deadlines.
// A fiber runs until its handler waits on its socket (FiberIo), and the
// loop then runs the next one that is ready: one thread serves many
// connections, and an idle client costs a registration and a stack.
#pragma once

#include "event/Fiber.h"
#include "event/StackPool.h"
#include "event/TimerHeap.h"

#include <atomic>
#include <chrono>
#include <cstddef>
#include <cstdint>
#include <memory>
#include <mutex>
#include <string>
#include <thread>
#include <unordered_map>
#include <vector>

#include <sys/epoll.h>

namespace portico::host {

// Something registered with a loop's epoll set; called on the loop thread.
class EventSource {
public:
    virtual ~EventSource() = default;
    virtual void on_events(uint32_t events) = 0;
};

// Something the loop calls back on its own thread when asked to from any
// thread (EventLoop::wake): how a notifier reaches a parked fiber.
class Wakeable {
public:
    virtual ~Wakeable() = default;
    virtual void on_wake() = 0;
};

// The work of one fiber. run() must not throw.
class FiberTask {
public:
    virtual ~FiberTask() = default;
    virtual void run() noexcept = 0;
};

class EventLoop {
public:
    using Clock = std::chrono::steady_clock;

    // stack_size: each fiber's stack (see StackPool). Throws std::system_error when the
    // epoll set or the wake-up eventfd cannot be made.
    EventLoop(std::string thread_name, std::size_t stack_size);
    // Stops the loop and joins its thread (after its fibers have finished).
    ~EventLoop();
    EventLoop(const EventLoop &) = delete;
    EventLoop &operator=(const EventLoop &) = delete;

    void start();
    // Any thread: the loop ends once its last fiber has finished.
    void stop();
    void join();

    // Any thread (epoll_ctl is): `source` must outlive the registration.
    // Throws std::system_error.
    void add(int fd, uint32_t events, EventSource &source);
    void remove(int fd);
    // Loop thread, as a source that lives shorter than the loop goes away
    // (a FiberIo): events epoll already handed out for it in this round are
    // dropped, so none reaches it after it is gone. Today none is ever left:
    // a fiber ends only in its own event's call or after the round's events
    // (timers, wake-ups, yields), and epoll hands out one event per
    // registration a round. This keeps that safe should a fiber ever be
    // ended from another source's call.
    void forget(const EventSource &source);

    // Loop thread: runs task on a new fiber until it first waits. Throws
    // std::system_error when no stack can be mapped (the task is dropped).
    void spawn(std::unique_ptr<FiberTask> task);
    // Loop thread: runs a suspended fiber again; reaps it if it finished.
    void resume(Fiber &fiber);
    // From inside `fiber`, on the loop thread: lets every other ready fiber
    // run first; `fiber` goes on after the next round of events. How a
    // connection that never has to wait (a stream flowing both ways)
    // shares its loop (FiberIo's I/O budget).
    void yield(Fiber &fiber);
    TimerHeap &timers() { return timers_; }

    // Any thread: calls target.on_wake() on the loop thread in its next
    // round. From the loop's own thread (a fiber signalling a neighbour) no
    // system call; from another, the loop's eventfd is written once per
    // batch. target must stay alive until then or be withdrawn.
    void wake(Wakeable &target);
    // Loop thread: target is not called for the wake()s so far.
    void cancel_wake(Wakeable &target);

    // Any thread, for a watchdog: whether the loop is waiting in epoll_wait
    // now, and how many rounds it has begun (a count that stands still while
    // the loop is not polling means it is stuck in one round). No clock is
    // read for this on the loop.
    bool polling() const { return polling_.load(std::memory_order_relaxed); }
    uint64_t rounds() const { return rounds_.load(std::memory_order_relaxed); }
    std::size_t fibers() const { return fiber_count_.load(std::memory_order_relaxed); }
    // How many times a parked fiber's stack was compacted (Fiber::compact)
    // since the loop started.
    uint64_t stacks_compacted() const { return compacted_.load(std::memory_order_relaxed); }
    const std::string &name() const { return name_; }

private:
    struct Running {
        std::unique_ptr<FiberTask> task;
        std::unique_ptr<Fiber> fiber;
        unsigned long long resumes_seen = 0; // the fiber's resumes() at the last stack sweep
        bool released = false;               // its dead stack is given back since it last ran
    };
    // Every kStackSweep, the fibers parked since the sweep before give
    // their stack pages back: all of them, their frames copied to the heap,
    // when their code keeps its stack private (Fiber::compact), else the
    // dead ones below the frames (Fiber::release_dead_stack).
    class StackSweep final : public TimerNode {
    public:
        explicit StackSweep(EventLoop &loop) : loop_(loop) {}
        void on_timer(Clock::time_point now) override;

    private:
        EventLoop &loop_;
    };
    // Reads the eventfd stop() writes to.
    class Waker final : public EventSource {
    public:
        explicit Waker(int fd) : fd_(fd) {}
        void on_events(uint32_t events) override;

    private:
        int fd_;
    };

    void run();
    // Both return whether they ran anything (the clock then moved on).
    bool run_due_timers(Clock::time_point now);
    bool run_yielded();
    bool run_woken();
    bool on_loop_thread() const;
    void sweep_stacks(Clock::time_point now);

    const std::string name_;
    int epoll_fd_ = -1;
    int wake_fd_ = -1;
    Waker waker_;
    std::atomic<bool> stopping_{false};
    std::atomic<bool> polling_{false};
    std::atomic<uint64_t> rounds_{0};
    std::atomic<std::size_t> fiber_count_{0};
    std::atomic<uint64_t> compacted_{0};
    TimerHeap timers_;                    // loop thread only
    epoll_event *round_events_ = nullptr; // loop thread only: the events being handed out
    int round_size_ = 0;
    StackSweep stack_sweep_{*this};                // loop thread only
    StackPool stacks_;                             // loop thread only; outlives the fibers on its stacks
    std::unordered_map<Fiber *, Running> running_; // loop thread only
    std::vector<Fiber *> yielded_;                 // loop thread only: to run after the next epoll_wait
    std::mutex wake_mutex_;
    std::vector<Wakeable *> remote_woken_; // guarded by wake_mutex_: wake() from other threads
    std::atomic<bool> remote_pending_{false};
    std::vector<Wakeable *> local_woken_; // loop thread only: wake() from the loop's own fibers
    std::vector<Wakeable *> waking_;      // loop thread only: the batch run_woken() is calling
    std::thread thread_;
};

} // namespace portico::host
