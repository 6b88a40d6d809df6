// FiberIo.cpp — suspend until ready or due; resume from the loop.
#include "event/FiberIo.h"

#include <cstdlib>

#include <poll.h>
#include <sys/epoll.h>

namespace portico::host {
namespace {

Fiber &current_fiber() {
    Fiber *fiber = Fiber::current();
    if (fiber == nullptr) std::abort(); // a FiberIo outside a fiber could never wait
    return *fiber;
}

} // namespace

FiberIo::FiberIo(EventLoop &loop, int fd) : loop_(loop), fd_(fd), fiber_(current_fiber()), ready_(EPOLLIN | EPOLLOUT) {
    // A new connection may have bytes already, and has send room: both are
    // tried first. From here on, edges say when more came.
    loop_.add(fd_, EPOLLIN | EPOLLOUT | EPOLLRDHUP | EPOLLET, *this);
}

FiberIo::~FiberIo() {
    // Every wait_or has disarmed before it returned: no notify() can come now.
    if (wake_posted_.load()) loop_.cancel_wake(*this);
    loop_.timers().cancel(*this);
    loop_.remove(fd_);
    loop_.forget(*this);
}

uint32_t FiberIo::direction(bool write) {
    return write ? EPOLLOUT : EPOLLIN;
}

IoWait::Result FiberIo::wait(bool write, IoWait::Clock::time_point deadline) {
    if (!usable_here()) return Result::failed; // Connection refuses such calls before they get here
    const uint32_t want = direction(write);
    if (ready_ & want) return Result::ready;
    park(want, deadline);
    return timed_out_ ? Result::timeout : Result::ready;
}

void FiberIo::park(uint32_t want, IoWait::Clock::time_point deadline) {
    // The timer may stay earlier than the deadline (it then fires, finds the
    // wait still running and moves on): a connection in steady use touches
    // the heap about once per timeout, not once per wait.
    if (!scheduled() || deadline < at()) loop_.timers().schedule(*this, deadline);
    deadline_ = deadline;
    waiting_ = want;
    timed_out_ = false;
    unyielded_ = 0;
    fiber_.suspend();
    waiting_ = 0;
}

IoWait::Result FiberIo::wait_or(Notifier *notifier, bool write, IoWait::Clock::time_point deadline, bool &notified) {
    notified = false;
    if (notifier == nullptr) return wait(write, deadline);
    if (!usable_here()) return Result::failed;
    const uint32_t want = direction(write);
    NotifierRef hold(*notifier);
    if (ready_ & want) {
        notified = notifier->consume();
        return Result::ready;
    }
    if (!notifier->arm(*this)) {
        notified = true;
        return Result::timeout;
    }
    notify_waiting_ = true;
    park(want, deadline);
    notify_waiting_ = false;
    notified = notifier->disarm(*this);
    // The socket (or the deadline) came first and a wake-up is still queued:
    // withdrawn, so it cannot end the next wait early.
    if (wake_posted_.load()) {
        loop_.cancel_wake(*this);
        wake_posted_.store(false);
    }
    return (ready_ & want) ? Result::ready : Result::timeout;
}

void FiberIo::notify() noexcept {
    // Many signals before the loop gets to it are one wake-up.
    if (!wake_posted_.exchange(true)) loop_.wake(*this);
}

void FiberIo::on_wake() {
    wake_posted_.store(false);
    if (notify_waiting_) wake();
}

void FiberIo::on_events(uint32_t events) {
    if (events & (EPOLLERR | EPOLLHUP)) sticky_ |= EPOLLIN | EPOLLOUT;
    if (events & EPOLLRDHUP) sticky_ |= EPOLLIN;
    ready_ |= sticky_;
    if (events & EPOLLIN) ready_ |= EPOLLIN;
    if (events & EPOLLOUT) ready_ |= EPOLLOUT;
    if (waiting_ & ready_) wake();
}

void FiberIo::progressed() {
    if (++unyielded_ < kIoBudget) return;
    unyielded_ = 0;
    loop_.yield(fiber_);
}

void FiberIo::on_timer(TimerNode::Clock::time_point now) {
    if (waiting_ == 0) return; // the wait this was for has ended
    if (now < deadline_) {
        loop_.timers().schedule(*this, deadline_);
        return;
    }
    // After a long round, the edge that would have woken this wait may still
    // be in epoll's list behind this timer: ask the socket before calling it
    // a timeout (one poll, only when a deadline passes).
    pollfd p{fd_, static_cast<short>(waiting_ == EPOLLOUT ? POLLOUT : POLLIN), 0};
    if (::poll(&p, 1, 0) > 0)
        ready_ |= waiting_;
    else
        timed_out_ = true;
    wake();
}

void FiberIo::wake() {
    waiting_ = 0;
    notify_waiting_ = false;
    // The fiber may finish and take this object with it: nothing after this.
    loop_.resume(fiber_);
}

} // namespace portico::host
