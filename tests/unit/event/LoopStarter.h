// LoopStarter.h — what the event-loop unit tests share: fibers started from
// the loop's own thread (as a readable listening socket starts them in
// EventService) and a non-blocking socket pair for a fiber to wait on.
#pragma once

#include "event/EventLoop.h"

#include <gtest/gtest.h>

#include <functional>
#include <memory>
#include <mutex>
#include <vector>

#include <sys/epoll.h>
#include <sys/eventfd.h>
#include <sys/socket.h>
#include <unistd.h>

namespace portico::test {

using host::EventLoop;
using host::EventSource;
using host::FiberTask;

class FunctionTask final : public FiberTask {
public:
    explicit FunctionTask(std::function<void()> fn) : fn_(std::move(fn)) {}
    void run() noexcept override { fn_(); }

private:
    std::function<void()> fn_;
};

// Starts fibers from the loop's own thread, the way a readable listening
// socket does in EventService: the test writes to an eventfd.
class Starter final : public EventSource {
public:
    explicit Starter(EventLoop &loop) : loop_(loop), fd_(::eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC)) {
        loop_.add(fd_, EPOLLIN, *this);
    }
    ~Starter() override {
        loop_.remove(fd_);
        ::close(fd_);
    }
    void start(std::function<void()> fn) {
        {
            std::lock_guard lock(mutex_);
            pending_.push_back(std::move(fn));
        }
        const uint64_t one = 1;
        ASSERT_EQ(::write(fd_, &one, sizeof one), static_cast<ssize_t>(sizeof one));
    }
    void on_events(uint32_t) override {
        uint64_t n = 0;
        [[maybe_unused]] const ssize_t r = ::read(fd_, &n, sizeof n);
        std::vector<std::function<void()>> todo;
        {
            std::lock_guard lock(mutex_);
            todo.swap(pending_);
        }
        for (auto &fn : todo)
            loop_.spawn(std::make_unique<FunctionTask>(std::move(fn)));
    }

private:
    EventLoop &loop_;
    int fd_;
    std::mutex mutex_;
    std::vector<std::function<void()>> pending_;
};

struct SocketPair {
    int fds[2] = {-1, -1};
    SocketPair() { EXPECT_EQ(::socketpair(AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0, fds), 0); }
    ~SocketPair() {
        ::close(fds[0]);
        ::close(fds[1]);
    }
    int fiber_end() const { return fds[0]; }
    int test_end() const { return fds[1]; }
};

} // namespace portico::test
