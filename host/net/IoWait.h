// IoWait.h — how a Connection waits for its socket. In mode threads the
// session owns a worker thread and waits in poll(2) (PollWait, below); in
// mode events it suspends its fiber until the event loop sees the socket
// ready (event/FiberIo.h). The Connection's deadlines, buffering and error
// handling are the same for both.
#pragma once

#include "net/Notifier.h"

#include <chrono>

namespace portico::host {

class IoWait {
public:
    using Clock = std::chrono::steady_clock;
    enum class Result { ready, timeout, failed };

    virtual ~IoWait() = default;

    // Whether the socket is non-blocking: recv/send then return EAGAIN
    // instead of waiting, and every wait comes through here.
    virtual bool nonblocking() const = 0;
    // Waits until the socket is readable (or writable, with `write`), shut
    // down or failed, or until `deadline`. Ready does not promise bytes: the
    // next recv/send tells what happened.
    virtual Result wait(bool write, Clock::time_point deadline) = 0;
    // Like wait(write, deadline), and also ends when `notifier` (if any) is
    // signalled, or was before the call: `notified` then says so (and the
    // signal is consumed). ready/timeout speak of the socket only.
    virtual Result wait_or(Notifier *notifier, bool write, Clock::time_point deadline, bool &notified) = 0;
    // The last recv (or send) would have blocked: the next wait in that
    // direction must wait for new readiness.
    virtual void drained(bool /*write*/) {}
    // Whether a recv (send) is worth trying before waiting at all.
    virtual bool maybe_ready(bool /*write*/) const { return false; }
    // A recv or send moved bytes without waiting. Mode events counts these
    // so a connection that never has to wait still lets the others of its
    // loop run (the call may suspend for a round).
    virtual void progressed() {}
    // Whether the calling thread (fiber) may do I/O on this connection: in
    // mode events only the connection's own fiber can wait on it.
    virtual bool usable_here() const { return true; }
};

// A blocking wait in poll(2) on the calling thread (mode threads, single,
// and the workers of mode process).
// A notifier wakes it through an eventfd made on the first such wait.
class PollWait final : public IoWait, private NotifyWaiter {
public:
    explicit PollWait(int fd) : fd_(fd) {}
    ~PollWait();
    PollWait(const PollWait &) = delete;
    PollWait &operator=(const PollWait &) = delete;

    bool nonblocking() const override { return false; }
    Result wait(bool write, Clock::time_point deadline) override;
    Result wait_or(Notifier *notifier, bool write, Clock::time_point deadline, bool &notified) override;

private:
    void notify() noexcept override;

    int fd_;
    int wake_fd_ = -1; // eventfd, written by notify() from any thread
};

} // namespace portico::host
