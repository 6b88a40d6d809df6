// EventLoop.cpp — epoll_wait, run what is ready, run what is due, repeat.
#include "event/EventLoop.h"

#include <algorithm>
#include <cerrno>
#include <climits>
#include <cstring>
#include <system_error>

#include <pthread.h>
#include <sys/epoll.h>
#include <sys/eventfd.h>
#include <unistd.h>

namespace portico::host {
namespace {

constexpr int kEventsPerWait = 256;
// A fiber parked this long (one to two sweeps) gives back its dead stack,
// or its whole stack when it is compacted: long enough that a connection in
// steady use never pays the page faults and copies of getting it back.
constexpr std::chrono::seconds kStackSweep{1};

// The loop whose thread this is (nullptr elsewhere): wake() from a fiber of
// the same loop needs no system call.
thread_local const EventLoop *tl_loop = nullptr;

void fiber_body(void *task) {
    static_cast<FiberTask *>(task)->run();
}

} // namespace

EventLoop::EventLoop(std::string thread_name, std::size_t stack_size)
    : name_(std::move(thread_name)), epoll_fd_(::epoll_create1(EPOLL_CLOEXEC)),
      wake_fd_(::eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK)), waker_(wake_fd_), stacks_(stack_size) {
    if (epoll_fd_ < 0 || wake_fd_ < 0) {
        const int error = errno;
        if (epoll_fd_ >= 0) ::close(epoll_fd_);
        if (wake_fd_ >= 0) ::close(wake_fd_);
        throw std::system_error(error, std::generic_category(), "event loop " + name_);
    }
    try {
        add(wake_fd_, EPOLLIN, waker_);
    } catch (...) {
        ::close(epoll_fd_);
        ::close(wake_fd_);
        throw;
    }
}

EventLoop::~EventLoop() {
    stop();
    join();
    ::close(wake_fd_);
    ::close(epoll_fd_);
}

void EventLoop::start() {
    thread_ = std::thread([this] { run(); });
}

void EventLoop::stop() {
    stopping_ = true;
    const uint64_t one = 1;
    [[maybe_unused]] const ssize_t n = ::write(wake_fd_, &one, sizeof one);
}

void EventLoop::join() {
    if (thread_.joinable()) thread_.join();
}

bool EventLoop::on_loop_thread() const {
    return tl_loop == this;
}

void EventLoop::wake(Wakeable &target) {
    if (on_loop_thread()) {
        local_woken_.push_back(&target);
        return;
    }
    bool first = false;
    {
        std::lock_guard lock(wake_mutex_);
        first = remote_woken_.empty();
        remote_woken_.push_back(&target);
        remote_pending_.store(true, std::memory_order_release);
    }
    // Later ones in the same batch find the loop already woken.
    if (first) {
        const uint64_t one = 1;
        [[maybe_unused]] const ssize_t n = ::write(wake_fd_, &one, sizeof one);
    }
}

void EventLoop::cancel_wake(Wakeable &target) {
    const auto forget = [&](std::vector<Wakeable *> &list) {
        std::replace(list.begin(), list.end(), &target, static_cast<Wakeable *>(nullptr));
    };
    forget(local_woken_);
    forget(waking_);
    std::lock_guard lock(wake_mutex_);
    forget(remote_woken_);
}

bool EventLoop::run_woken() {
    if (remote_pending_.load(std::memory_order_acquire)) {
        std::lock_guard lock(wake_mutex_);
        waking_.swap(remote_woken_);
        remote_pending_.store(false, std::memory_order_relaxed);
    }
    if (waking_.empty() && local_woken_.empty()) return false;
    waking_.insert(waking_.end(), local_woken_.begin(), local_woken_.end());
    local_woken_.clear();
    // An on_wake() may end its fiber, whose destructor withdraws it (and
    // only it) from waking_ through cancel_wake: index, not iterators.
    for (std::size_t i = 0; i < waking_.size(); ++i)
        if (Wakeable *target = waking_[i]) {
            waking_[i] = nullptr;
            target->on_wake();
        }
    waking_.clear();
    return true;
}

void EventLoop::Waker::on_events(uint32_t) {
    uint64_t count = 0;
    [[maybe_unused]] const ssize_t n = ::read(fd_, &count, sizeof count);
}

void EventLoop::add(int fd, uint32_t events, EventSource &source) {
    epoll_event ev{};
    ev.events = events;
    ev.data.ptr = &source;
    if (::epoll_ctl(epoll_fd_, EPOLL_CTL_ADD, fd, &ev) != 0)
        throw std::system_error(errno, std::generic_category(), "epoll_ctl add");
}

void EventLoop::remove(int fd) {
    ::epoll_ctl(epoll_fd_, EPOLL_CTL_DEL, fd, nullptr);
}

void EventLoop::forget(const EventSource &source) {
    for (int i = 0; i < round_size_; ++i)
        if (round_events_[i].data.ptr == &source) round_events_[i].data.ptr = nullptr;
}

void EventLoop::spawn(std::unique_ptr<FiberTask> task) {
    auto fiber = std::make_unique<Fiber>(stacks_.take(), &fiber_body, task.get());
    Fiber &started = *fiber;
    running_.emplace(&started, Running{std::move(task), std::move(fiber)});
    ++fiber_count_;
    resume(started);
}

void EventLoop::resume(Fiber &fiber) {
    fiber.resume();
    if (!fiber.finished()) return;
    const auto it = running_.find(&fiber);
    if (it == running_.end()) return;
    running_.erase(it); // the task goes too: its socket closes here, and the stack goes back to the pool
    --fiber_count_;
}

void EventLoop::yield(Fiber &fiber) {
    yielded_.push_back(&fiber);
    fiber.suspend();
}

void EventLoop::StackSweep::on_timer(Clock::time_point now) {
    loop_.sweep_stacks(now);
}

void EventLoop::sweep_stacks(Clock::time_point now) {
    for (auto &[fiber, running] : running_) {
        const unsigned long long resumes = fiber->resumes();
        if (resumes != running.resumes_seen) {
            running.resumes_seen = resumes;
            running.released = false;
        } else if (!running.released) {
            // A handler that keeps its stack to itself costs the bytes its
            // parked frames hold; any other keeps the pages they are on.
            if (fiber->compact())
                compacted_.store(compacted_.load(std::memory_order_relaxed) + 1, std::memory_order_relaxed);
            else
                fiber->release_dead_stack();
            running.released = true;
        }
    }
    timers_.schedule(stack_sweep_, now + kStackSweep);
}

bool EventLoop::run_due_timers(Clock::time_point now) {
    bool ran = false;
    while (TimerNode *due = timers_.pop_due(now)) {
        due->on_timer(now);
        ran = true;
    }
    return ran;
}

bool EventLoop::run_yielded() {
    if (yielded_.empty()) return false;
    std::vector<Fiber *> ready;
    ready.swap(yielded_); // those that yield again now wait for the next round
    for (Fiber *fiber : ready)
        resume(*fiber);
    ready.clear();
    if (yielded_.empty()) yielded_.swap(ready); // keep the capacity: no allocation per round
    return true;
}

void EventLoop::run() {
    pthread_setname_np(pthread_self(), name_.substr(0, 15).c_str());
    tl_loop = this;
    epoll_event events[kEventsPerWait];
    // Read once a round, after its events (and again only if timers or
    // yielded fibers ran): it decides what is due and how long the next
    // epoll_wait may sleep.
    auto now = Clock::now();
    timers_.schedule(stack_sweep_, now + kStackSweep);
    while (!(stopping_ && running_.empty())) {
        int timeout_ms = -1;
        if (!yielded_.empty() || !local_woken_.empty()) {
            timeout_ms = 0; // fibers are ready to go on: only collect what else is ready
        } else if (const auto next = timers_.next()) {
            const auto left = std::chrono::ceil<std::chrono::milliseconds>(*next - now).count();
            timeout_ms = static_cast<int>(std::clamp<long long>(left, 0, INT_MAX));
        }
        polling_.store(true, std::memory_order_relaxed);
        const int n = ::epoll_wait(epoll_fd_, events, kEventsPerWait, timeout_ms);
        polling_.store(false, std::memory_order_relaxed);
        // This thread alone writes it: a plain store, not a locked increment.
        rounds_.store(rounds_.load(std::memory_order_relaxed) + 1, std::memory_order_relaxed);
        round_events_ = events;
        round_size_ = std::max(n, 0);
        for (int i = 0; i < n; ++i)
            if (auto *source = static_cast<EventSource *>(events[i].data.ptr)) source->on_events(events[i].events);
        round_size_ = 0;
        now = Clock::now();
        bool ran = run_woken();
        ran = run_due_timers(now) || ran;
        if (!yielded_.empty()) ran = run_yielded() || ran;
        if (ran) now = Clock::now();
    }
}

} // namespace portico::host
