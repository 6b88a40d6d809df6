// EventService.cpp — mode events: event loops accepting on one listening
// socket and serving each connection on a fiber.
#include "service/EventService.h"

#include "service/EventSession.h"

#include <Poco/Net/StreamSocketImpl.h>

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <string>
#include <system_error>
#include <thread>

#include <fcntl.h>
#include <sched.h>
#include <sys/epoll.h>
#include <sys/socket.h>
#include <unistd.h>

namespace portico::host {
namespace {

// Connections taken per readiness of the listener before the loop serves
// its open connections again: a connect storm cannot starve them.
constexpr int kAcceptBatch = 64;
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

// The listening socket in one loop's epoll set. Out of descriptors with no
// spare one to refuse a client with, it takes the socket out of its loop for
// a moment (a timer) instead of letting a readable listener spin the loop.
class EventService::Acceptor final : public EventSource, private TimerNode {
public:
    Acceptor(EventService &service, EventLoop &loop) : service_(service), loop_(loop) {}
    EventLoop &loop() { return loop_; }
    void on_events(uint32_t) override { service_.accept_ready(*this); }
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
    stop_accepting();
    close_sessions();
    wait_sessions(std::chrono::steady_clock::now() + std::chrono::seconds(5));
    for (const auto &loop : loops_)
        loop->stop();
    loops_.clear(); // joins each loop once its fibers have finished
    acceptors_.clear();
    if (spare_fd_ >= 0) ::close(spare_fd_);
}

void EventService::start() {
    const ServiceConfig &cfg = config();
    Poco::Net::ServerSocket socket = open_listener();
    // Every loop polls this one socket: the losers of a race must find
    // accept() empty, not block a loop that serves other connections.
    socket.setBlocking(false);
    listen_fd_ = socket.impl()->sockfd();
    spare_fd_ = ::open("/dev/null", O_RDONLY | O_CLOEXEC);

    const int loops = loop_count(cfg.events);
    for (int i = 0; i < loops; ++i) {
        // "echo:ev0": the service's name fits in the 15 characters Linux keeps.
        const std::string suffix = ":ev" + std::to_string(i);
        loops_.push_back(
            std::make_unique<EventLoop>(cfg.name.substr(0, 15 - suffix.size()) + suffix, cfg.events.stack));
        acceptors_.push_back(std::make_unique<Acceptor>(*this, *loops_.back()));
    }
    for (const auto &loop : loops_)
        loop->start();
    accepting_ = true;
    // EPOLLEXCLUSIVE: a new connection wakes one idle loop, not all of them.
    for (std::size_t i = 0; i < loops_.size(); ++i)
        loops_[i]->add(listen_fd_, EPOLLIN | EPOLLEXCLUSIVE, *acceptors_[i]);
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

void EventService::accept_ready(Acceptor &acceptor) {
    // Accepted inside the window stop_accepting() waits for, started outside
    // it: a session's first steps run plugin code, which may take its time.
    int accepted[kAcceptBatch];
    int count = 0;
    if (!enter_accepting()) return;
    // Bounded in attempts, not only in sessions: refusals and retries count.
    for (int attempt = 0; attempt < kAcceptBatch; ++attempt) {
        const int fd = ::accept4(listen_fd_, nullptr, nullptr, SOCK_NONBLOCK | SOCK_CLOEXEC);
        if (fd >= 0) {
            accepted[count++] = fd;
            continue;
        }
        const int error = errno;
        if (error == EINTR || error == ECONNABORTED) continue;
        if (error == EAGAIN || error == EWOULDBLOCK) break;
        if (error == EMFILE || error == ENFILE) {
            // accept() fails so whether or not a client is waiting.
            const Refusal refusal = refuse_without_descriptors(error);
            if (refusal == Refusal::refused) continue;
            if (refusal == Refusal::no_spare) acceptor.pause();
            break;
        }
        log_accept_error("accept failed: " + std::string(std::strerror(error)));
        break;
    }
    --accepts_running_;
    for (int i = 0; i < count; ++i)
        start_session(acceptor.loop(), accepted[i]);
}

void EventService::listen_again(Acceptor &acceptor) {
    if (!enter_accepting()) return;
    try {
        acceptor.loop().add(listen_fd_, EPOLLIN | EPOLLEXCLUSIVE, acceptor);
    } catch (const std::system_error &e) {
        log_accept_error(std::string("cannot listen again after running out of descriptors: ") + e.what());
    }
    --accepts_running_;
}

void EventService::start_session(EventLoop &loop, int fd) {
    // Poco's contract: the socket takes ownership of the impl (and the fd).
    const Poco::Net::StreamSocket socket(new Poco::Net::StreamSocketImpl(fd));
    if (!admission().admit(socket, 0, false)) return; // refused, counted and logged; closed with `socket`
    try {
        loop.spawn(std::make_unique<EventSession>(*this, socket, loop));
    } catch (const std::exception &e) {
        // No memory for the fiber's stack: refused like any other overload.
        admission().finish(socket);
        ++counters().refused;
        log_accept_error(std::string("refused a connection: cannot start its session: ") + e.what());
    }
}

EventService::Refusal EventService::refuse_without_descriptors(int error) {
    std::lock_guard lock(accept_errors_mutex_);
    if (spare_fd_ < 0) spare_fd_ = ::open("/dev/null", O_RDONLY | O_CLOEXEC); // one may have come free
    if (spare_fd_ < 0) return Refusal::no_spare;
    ::close(spare_fd_);
    const int fd = ::accept4(listen_fd_, nullptr, nullptr, SOCK_CLOEXEC);
    spare_fd_ = fd >= 0 ? -1 : ::open("/dev/null", O_RDONLY | O_CLOEXEC);
    if (fd < 0) return Refusal::none_waiting;
    const std::string &busy = config().busy_message;
    if (!busy.empty()) ::send(fd, busy.data(), busy.size(), MSG_DONTWAIT | MSG_NOSIGNAL);
    ::close(fd);
    spare_fd_ = ::open("/dev/null", O_RDONLY | O_CLOEXEC);
    ++counters().refused;
    uint64_t suppressed = 0;
    if (accept_errors_.allow(std::chrono::steady_clock::now(), &suppressed))
        handle()->logger.error("service '%s': refused a connection: out of file descriptors (%s); raise the limit "
                               "(ulimit -n, LimitNOFILE=) or lower max_connections (%Lu similar lines suppressed)",
                               name(), std::string(std::strerror(error)), static_cast<Poco::UInt64>(suppressed));
    return Refusal::refused;
}

void EventService::log_accept_error(const std::string &what) {
    std::lock_guard lock(accept_errors_mutex_);
    uint64_t suppressed = 0;
    if (accept_errors_.allow(std::chrono::steady_clock::now(), &suppressed))
        handle()->logger.error("service '%s': %s (%Lu similar lines suppressed)", name(), what,
                               static_cast<Poco::UInt64>(suppressed));
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
