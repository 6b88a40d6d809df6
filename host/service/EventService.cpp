// EventService.cpp — mode events: event loops accepting on one listening
// socket and serving each connection on a fiber.
#include "service/EventService.h"

#include "service/EventSession.h"

#include <algorithm>
#include <string>
#include <system_error>
#include <thread>

#include <sched.h>
#include <sys/epoll.h>

namespace portico::host {
namespace {

// A loop that has not come back to epoll_wait for this long is reported.
constexpr std::chrono::seconds kStallWarning{1};
constexpr std::chrono::milliseconds kWatchInterval{250};
// How long a loop leaves the listener alone when no descriptor is left.
constexpr std::chrono::milliseconds kDescriptorPause{100};

int64_t steady_ns() {
    return std::chrono::duration_cast<std::chrono::nanoseconds>(std::chrono::steady_clock::now().time_since_epoch())
        .count();
}

// One loop per CPU this process may run on (its affinity mask, which
// taskset and container runtimes set), unless the config says.
int loop_count(const EventsConfig &events) {
    if (events.loops > 0) return events.loops;
    cpu_set_t cpus;
    if (::sched_getaffinity(0, sizeof cpus, &cpus) == 0) return std::max(1, CPU_COUNT(&cpus));
    return static_cast<int>(std::max(1u, std::thread::hardware_concurrency()));
}

std::string size_text(std::size_t bytes) {
    return bytes % (1024 * 1024) == 0 ? std::to_string(bytes / (1024 * 1024)) + "MiB"
                                      : std::to_string(bytes / 1024) + "KiB";
}

} // namespace

// The listening socket in one loop's epoll set, and where the connections
// that loop accepts go: a fiber of that loop each. Out of descriptors with
// no spare one to refuse a client with, it takes the socket out of its loop
// for a moment (a timer) instead of letting a readable listener spin the loop.
class EventService::LoopListener final : public EventSource, public AcceptSink, private TimerNode {
public:
    LoopListener(EventService &service, EventLoop &loop) : service_(service), loop_(loop) {}
    EventLoop &loop() { return loop_; }
    void on_events(uint32_t) override { service_.accept_ready(*this); }
    void serve(std::optional<Poco::Net::StreamSocket> &socket, Admission::Ticket ticket) override {
        // Accepted on this loop's thread, served on it: no other thread to sync with.
        Poco::Net::StreamSocket taken = std::move(*socket);
        socket.reset();
        loop_.spawn(std::make_unique<EventSession>(service_, std::move(taken), std::move(ticket), loop_));
    }
    // Loop thread: no accepting here until kDescriptorPause has passed.
    void pause() {
        loop_.remove(service_.listen_fd_);
        loop_.timers().schedule(*this, TimerNode::Clock::now() + kDescriptorPause);
    }

private:
    void on_timer(TimerNode::Clock::time_point) override { service_.listen_again(*this); }

    EventService &service_;
    EventLoop &loop_;
};

EventService::EventService(ServiceConfig config, std::shared_ptr<ServiceHandle> handle,
                           std::shared_ptr<HandlerBinding> binding)
    : StreamService(std::move(config), std::move(handle), std::move(binding)) {}

EventService::~EventService() {
    watchdog_.stop();
    stop_and_close_sessions();
    for (const auto &loop : loops_)
        loop->stop();
    loops_.clear(); // joins each loop once its fibers have finished
    listeners_.clear();
}

void EventService::start() {
    const ServiceConfig &cfg = config();
    Poco::Net::ServerSocket socket = open_tcp_listener();
    // Every loop polls this one socket: the losers of a race must find
    // accept() empty, not block a loop that serves other connections.
    socket.setBlocking(false);
    listen_fd_ = socket.impl()->sockfd();
    // A process-mode worker shares the socket with its siblings: one
    // connection per wake-up (nginx's `multi_accept off`), see accept_ready.
    shared_listener_ = cfg.mode == ServiceMode::process;
    acceptor_ = std::make_unique<Acceptor>(*this, listen_fd_, true, shared_listener_ ? 1 : Acceptor::kBatch);

    const int loops = loop_count(cfg.events);
    for (int i = 0; i < loops; ++i) {
        // "echo:ev0": the service's name fits in the 15 characters Linux keeps.
        const std::string suffix = ":ev" + std::to_string(i);
        loops_.push_back(
            std::make_unique<EventLoop>(cfg.name.substr(0, 15 - suffix.size()) + suffix, cfg.events.stack));
        listeners_.push_back(std::make_unique<LoopListener>(*this, *loops_.back()));
    }
    for (const auto &loop : loops_)
        loop->start();
    accepting_ = true;
    // EPOLLEXCLUSIVE: a new connection wakes one idle loop, not all of them.
    for (std::size_t i = 0; i < loops_.size(); ++i)
        loops_[i]->add(listen_fd_, EPOLLIN | EPOLLEXCLUSIVE, *listeners_[i]);
    watches_.assign(loops_.size(), LoopWatch{});
    watchdog_.start(kWatchInterval, [this] { watch_loops(); });
    handle()->logger.information("service '%s': mode events, %d event loop%s, %s fiber stacks", cfg.name, loops,
                                 std::string(loops == 1 ? "" : "s"), size_text(cfg.events.stack));
}

void EventService::stop_accepting() {
    if (!accepting_.exchange(false)) return;
    for (const auto &loop : loops_)
        loop->remove(listen_fd_);
    // A loop that saw `accepting_` still true may be inside accept_ready (or
    // putting the socket back after a pause): the socket is closed only once
    // none is, and taken out of every set once more in case one just did.
    while (accepts_running_.load() > 0)
        std::this_thread::sleep_for(std::chrono::milliseconds(1));
    for (const auto &loop : loops_)
        loop->remove(listen_fd_);
    close_listener();
}

bool EventService::enter_accepting() {
    ++accepts_running_;
    if (accepting_.load()) return true;
    --accepts_running_;
    return false;
}

void EventService::accept_ready(LoopListener &listener) {
    // Accepted inside the window stop_accepting() waits for, admitted and
    // started outside it: a session's first steps run plugin code, which may
    // take its time.
    if (!enter_accepting()) return;
    const Acceptor::Batch batch = acceptor_->accept_batch();
    if (batch.closed)
        listener.loop().remove(listen_fd_); // shut down by the master (a process-mode worker): stopping
    else if (batch.pause)
        listener.pause();
    else if (batch.count > 0 && shared_listener_)
        take_turn(listener);
    // Counted as admitting before it leaves the accept window, so a retired
    // service is not judged drained with this batch in hand (wait_sessions).
    ++admitting_;
    --accepts_running_;
    for (int i = 0; i < batch.count; ++i)
        acceptor_->admit(batch.fds[i], listener);
    --admitting_;
}

bool EventService::wait_sessions(std::chrono::steady_clock::time_point deadline) {
    // A session registers only once its fiber is past the PROXY header, and
    // a batch is admitted after stop_accepting() stopped waiting for it: a
    // retired service judged drained before either had registered would
    // close it as it started. The loops are this service's alone, so no
    // fiber left on them means no connection left. Read in this order: an
    // admitting loop has counted its fibers before it stops admitting.
    for (;;) {
        const bool none_registered = StreamService::wait_sessions(deadline);
        if (none_registered && admitting_.load() == 0 &&
            std::all_of(loops_.begin(), loops_.end(), [](const auto &loop) { return loop->fibers() == 0; }))
            return true;
        if (std::chrono::steady_clock::now() >= deadline) return false;
        std::this_thread::sleep_for(std::chrono::milliseconds(2));
    }
}

// EPOLLEXCLUSIVE wakes the first idle epoll set in the socket's wait queue,
// which is the order of registration: every loop of every worker would wait
// while the first one took each connection. Registering anew puts this loop
// at the back of the queue, so connections go round the idle loops of all
// the workers (a crash then costs its worker's share, not everything).
void EventService::take_turn(LoopListener &listener) {
    try {
        listener.loop().remove(listen_fd_);
        listener.loop().add(listen_fd_, EPOLLIN | EPOLLEXCLUSIVE, listener);
    } catch (const std::system_error &e) {
        acceptor_->log_error(std::string("cannot listen again after an accept: ") + e.what());
    }
}

void EventService::listen_again(LoopListener &listener) {
    if (!enter_accepting()) return;
    try {
        listener.loop().add(listen_fd_, EPOLLIN | EPOLLEXCLUSIVE, listener);
    } catch (const std::system_error &e) {
        acceptor_->log_error(std::string("cannot listen again after running out of descriptors: ") + e.what());
    }
    --accepts_running_;
}

void EventService::watch_loops() {
    const int64_t now = steady_ns();
    for (std::size_t i = 0; i < loops_.size(); ++i) {
        const EventLoop &loop = *loops_[i];
        LoopWatch &watch = watches_[i];
        const uint64_t round = loop.rounds();
        if (loop.polling() || round != watch.round) {
            if (watch.reported) {
                --stalled_loops_;
                handle()->logger.warning("service '%s': event loop %z serves again after a stall of about %s ms",
                                         name(), i, std::to_string((now - watch.since) / 1'000'000));
            }
            watch = LoopWatch{round, now, false};
            continue;
        }
        const int64_t stalled = now - watch.since; // at least this long in one round
        if (watch.reported || stalled < std::chrono::duration_cast<std::chrono::nanoseconds>(kStallWarning).count())
            continue;
        watch.reported = true;
        ++stalled_loops_;
        const std::size_t others = loop.fibers() > 0 ? loop.fibers() - 1 : 0;
        handle()->logger.warning(
            "service '%s': event loop %z is stalled: it has not polled its sockets for %s ms, and the %z other "
            "connections of this loop wait meanwhile; most likely a handler sleeps, computes for long or blocks "
            "outside Stream calls, which needs mode threads",
            name(), i, std::to_string(stalled / 1'000'000), others);
    }
}

} // namespace portico::host
