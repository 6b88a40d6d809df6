// EventService.h — a `protocol: tcp` service in mode events (or a worker of
// mode process with `engine: events`): `events.loops` threads, each an
// EventLoop polling the shared listening socket and running every
// connection it accepts on a fiber of its own (EventSession). The
// handler is the same plugin code as in mode threads; its blocking Stream
// calls suspend its fiber, not the thread, so a few threads serve thousands
// of connections and a request costs about what a raw epoll server spends.
// The price: a handler that blocks outside Stream calls (sleep, a lock held
// across a read, its own blocking I/O) stalls every connection of its loop;
// the service notices and says so in the log.
#pragma once

#include "event/EventLoop.h"
#include "service/Acceptor.h"
#include "service/PeriodicThread.h"
#include "service/StreamService.h"

#include <atomic>
#include <memory>
#include <mutex>
#include <vector>

namespace portico::host {

class EventService final : public StreamService {
public:
    EventService(ServiceConfig config, std::shared_ptr<ServiceHandle> handle, std::shared_ptr<HandlerBinding> binding);
    // Stops accepting, closes the sessions still open and joins the loops.
    ~EventService() override;

    void start() override;
    void stop_accepting() override;
    bool stalled() const override { return stalled_loops_.load() > 0; }
    // Also counts what has no session yet: a batch still being admitted, and
    // a fiber before its session registers (waiting for a PROXY header).
    bool wait_sessions(std::chrono::steady_clock::time_point deadline) override;

private:
    // One per loop: the listening socket in that loop's epoll set, and the
    // sink that starts a fiber on that loop for each connection it admits.
    class LoopListener;

    // On the listener's loop thread when the listening socket is readable:
    // accepts a batch (Acceptor), then starts a session fiber for each
    // admitted connection.
    void accept_ready(LoopListener &listener);
    // After a pause for lack of descriptors: the socket back in the loop's set.
    void listen_again(LoopListener &listener);
    // Shared listener (mode process): to the back of the accept queue.
    void take_turn(LoopListener &listener);
    // Counts the caller into accepts_running_ if still accepting.
    bool enter_accepting();
    // Watchdog: warns about a loop stuck in handler code, and when it is back.
    void watch_loops();

    std::vector<std::unique_ptr<EventLoop>> loops_;
    std::vector<std::unique_ptr<LoopListener>> listeners_;
    std::unique_ptr<Acceptor> acceptor_; // shared by every loop
    int listen_fd_ = -1;
    bool shared_listener_ = false; // with sibling worker processes (mode process)
    std::atomic<bool> accepting_{false};
    std::atomic<int> accepts_running_{0}; // loops inside accept_ready now
    std::atomic<int> admitting_{0};       // loops admitting an accepted batch now

    // Per loop, for the watchdog: the round it last saw, since when (steady
    // ns) the loop has been in that round without polling, and whether that
    // stall has been reported.
    struct LoopWatch {
        uint64_t round = 0;
        int64_t since = 0;
        bool reported = false;
    };
    std::vector<LoopWatch> watches_;
    std::atomic<int> stalled_loops_{0}; // loops whose stall is reported and not over
    PeriodicThread watchdog_;
};

} // namespace portico::host
