// ThreadsService.cpp — mode threads and single: the accept thread, and Poco's
// dispatcher with the pool and queue sizes from the YAML (never Poco's
// defaults) behind a small adapter.
#include "service/ThreadsService.h"

#include "service/StreamSession.h"

#include <Poco/Net/TCPServerConnection.h>
#include <Poco/Net/TCPServerConnectionFactory.h>
#include <Poco/Net/TCPServerDispatcher.h>
#include <Poco/Net/TCPServerParams.h>
#include <Poco/Thread.h>

#include <algorithm>
#include <atomic>
#include <cerrno>
#include <cstring>
#include <unordered_map>
#include <utility>

#include <poll.h>
#include <pthread.h>
#include <sys/eventfd.h>
#include <sys/socket.h>
#include <unistd.h>

namespace portico::host {
namespace {

// How long the accept thread leaves the listener alone when the process is
// out of descriptors and has no spare one to refuse a client with.
constexpr int kDescriptorPauseMs = 100;
// A process-mode worker that lost an accept race to a sibling (accept_loop).
constexpr int kLostRaceBackoffMs = 5;

void name_thread(const std::string &service, const std::string &suffix) {
    const std::string name = service.substr(0, 15 - std::min<std::size_t>(suffix.size(), 6)) + suffix;
    pthread_setname_np(pthread_self(), name.substr(0, 15).c_str());
}

// Names each worker thread after its service once ("upper:3"), so logs and
// the threadname plugin show whose worker it is. Pool threads belong to one
// service for life, so a per-thread flag is enough.
void name_worker_thread(const std::string &service) {
    thread_local bool named = false;
    if (named) return;
    named = true;
    const Poco::Thread *thread = Poco::Thread::current();
    name_thread(service, ":" + (thread ? std::to_string(thread->id()) : std::string("main")));
}

} // namespace

// Poco's TCPServerDispatcher, the engine of Poco's TCPServer, fed by the
// Acceptor instead of TCPServer's own accept loop (which would bypass the
// batches, the spare descriptor and the tickets). What it needs around it,
// each for a behaviour of Poco's:
// - Its queue carries only the socket: each connection's ticket is parked
//   here by descriptor until the worker that dequeues it claims it.
// - enqueue() drops a connection silently when its queue holds
//   max_queued (or it cannot start a thread): we look at
//   refusedConnections() around the call and refuse visibly, and size its
//   queue above Admission's limit so this is the exception.
// - stop() clears the queue: it is called only when queued connections are
//   to be dropped (shutdown, not a listener hand-over).
// - queuedConnections() and currentConnections() both read 0 while a worker
//   goes from dequeuing a socket to beginConnection(): whether every
//   connection has ended is counted here instead (idle()).
// - An idle dispatcher thread looks at its stop flag only every
//   threadIdleTime: kept short.
class ThreadsService::PocoQueue final : public AcceptSink {
public:
    PocoQueue(ThreadsService &service, Poco::ThreadPool &pool, int max_threads) : service_(service) {
        auto params = Poco::Net::TCPServerParams::Ptr(new Poco::Net::TCPServerParams);
        params->setMaxThreads(max_threads);
        // Admission refuses (visibly) at max_queued when every worker is
        // busy. Poco's own cap stays above that: it counts the queue whether
        // or not workers are free (so max_queued 0 would serve nothing), and
        // at 0 free places it races a thread that is exiting against an
        // enqueue. The extra max_threads covers a burst while workers start.
        params->setMaxQueued(service.config().max_queued + max_threads);
        // How long an idle dispatcher thread waits before looking at the stop
        // flag again (the pool's own idle time is threads.idle): Poco's stop()
        // wakes only threads already waiting, so keep it short or every stop
        // stalls for it.
        params->setThreadIdleTime(Poco::Timespan(0, 250'000));
        max_threads_ = max_threads;
        // Reference counted by Poco (its threads hold it too): released, not deleted.
        dispatcher_ = new Poco::Net::TCPServerDispatcher(new SessionFactory(*this), pool, params);
    }
    ~PocoQueue() override {
        stop();
        dispatcher_->release();
    }
    PocoQueue(const PocoQueue &) = delete;
    PocoQueue &operator=(const PocoQueue &) = delete;

    int queued() const override { return dispatcher_->queuedConnections(); }
    bool busy() const override { return service_.counters().active.load() >= max_threads_; }

    // On the accept thread, the only one that enqueues. The socket is
    // parked with its ticket, and the accept thread keeps no reference of
    // its own (Acceptor.h says why): the worker that dequeues it claims
    // both under the lock, after which nothing here touches them.
    void serve(std::optional<Poco::Net::StreamSocket> &socket, Admission::Ticket ticket) override {
        const int fd = socket->impl()->sockfd();
        Poco::Net::StreamSocket *queued = nullptr;
        {
            std::lock_guard lock(mutex_);
            // An entry still under this descriptor is of a connection that
            // never reached a worker (its number reused since): this frees it.
            const auto it = parked_.insert_or_assign(fd, Parked{std::move(*socket), std::move(ticket)}).first;
            socket.reset();
            // Stable until a worker claims it, which needs the notification
            // enqueue() makes of it first; stop() runs after this thread ended.
            queued = &it->second.socket;
        }
        const int refused_before = dispatcher_->refusedConnections();
        dispatcher_->enqueue(*queued);
        if (dispatcher_->refusedConnections() == refused_before) return;
        // Dropped by Poco: told (while the socket is still open), then its
        // slot and socket go.
        const std::string &busy = service_.config().busy_message;
        if (!busy.empty()) ::send(fd, busy.data(), busy.size(), MSG_DONTWAIT | MSG_NOSIGNAL);
        claim(fd, false);
        service_.counters().count_refusal(RefusalReason::queue_full);
        service_.acceptor_->log_error("refused a connection: every worker is busy and the queue is full");
    }

    // Nothing parked and no session object alive: every connection this
    // queue was given has ended. Counted here, not with Poco's
    // queuedConnections() and currentConnections(): between a worker
    // dequeuing a socket and calling beginConnection() both read 0, and a
    // retired service judged drained in that gap closed the session as it
    // started (a client lost its connection across a reload).
    bool idle() const {
        std::lock_guard lock(mutex_);
        return parked_.empty() && sessions_ == 0;
    }

    // Drops what is queued (Poco closes the sockets) and lets the threads go.
    void stop() {
        dispatcher_->stop();
        std::lock_guard lock(mutex_);
        parked_.clear();
    }

private:
    // The session as Poco's dispatcher runs it on a pool thread.
    // Counted from its claim (made under the parking lock, as the socket
    // leaves parked_) until Poco deletes it after run().
    class Session final : public Poco::Net::TCPServerConnection {
    public:
        Session(const Poco::Net::StreamSocket &socket, PocoQueue &queue, Admission::Ticket ticket)
            : Poco::Net::TCPServerConnection(socket), queue_(queue), ticket_(std::move(ticket)) {}
        ~Session() override {
            std::lock_guard lock(queue_.mutex_);
            --queue_.sessions_;
        }
        Session(const Session &) = delete;
        Session &operator=(const Session &) = delete;
        void run() override {
            name_worker_thread(queue_.service_.name());
            run_stream_session(queue_.service_, socket(), std::move(ticket_), nullptr);
        }

    private:
        PocoQueue &queue_;
        Admission::Ticket ticket_;
    };

    // Called by the dispatcher on the worker that dequeued the socket.
    class SessionFactory final : public Poco::Net::TCPServerConnectionFactory {
    public:
        explicit SessionFactory(PocoQueue &queue) : queue_(queue) {}
        Poco::Net::TCPServerConnection *createConnection(const Poco::Net::StreamSocket &socket) override {
            // Poco's contract: the dispatcher takes ownership of the raw pointer.
            return new Session(socket, queue_, queue_.claim(socket.impl()->sockfd(), true));
        }

    private:
        PocoQueue &queue_;
    };

    // The parked ticket of `fd`; empty when stop() dropped it while a worker
    // was taking the socket (the session then runs outside the admission
    // counts). `for_session`: counted as a session before it leaves parked_,
    // so idle() never sees it in neither place.
    Admission::Ticket claim(int fd, bool for_session) {
        decltype(parked_)::node_type parked; // its socket reference goes here, outside the lock
        {
            std::lock_guard lock(mutex_);
            if (for_session) ++sessions_;
            parked = parked_.extract(fd);
        }
        if (parked.empty()) return {};
        return std::move(parked.mapped().ticket);
    }

    struct Parked {
        Poco::Net::StreamSocket socket; // the accept thread's reference, dropped by the claimer
        Admission::Ticket ticket;
    };

    ThreadsService &service_;
    int max_threads_ = 1;
    Poco::Net::TCPServerDispatcher *dispatcher_ = nullptr;
    mutable std::mutex mutex_;
    std::unordered_map<int, Parked> parked_;
    int sessions_ = 0; // Session objects alive (under mutex_)
};

ThreadsService::ThreadsService(ServiceConfig config, std::shared_ptr<ServiceHandle> handle,
                               std::shared_ptr<HandlerBinding> binding)
    : StreamService(std::move(config), std::move(handle), std::move(binding)) {}

ThreadsService::~ThreadsService() {
    housekeeping_.stop();
    stop_and_close_sessions();
    // After a hand-over the queue was left to drain; what still waits goes now.
    if (queue_) queue_->stop();
    // The workers use the queue (claiming tickets) until they have ended.
    if (pool_) pool_->joinAll();
    queue_.reset();
    if (wake_fd_ >= 0) ::close(wake_fd_);
}

void ThreadsService::start() {
    const ServiceConfig &cfg = config();
    Poco::Net::ServerSocket socket = open_tcp_listener();
    // accept4 in batches until EAGAIN; the accept thread waits in poll().
    socket.setBlocking(false);

    const bool single = cfg.mode == ServiceMode::single;
    const int min_threads = single ? 1 : cfg.threads.min;
    const int max_threads = single ? 1 : cfg.threads.max;
    const int idle_seconds = std::max<int>(1, static_cast<int>(cfg.threads.idle.count() / 1000));
    pool_ = std::make_unique<Poco::ThreadPool>(cfg.name, min_threads, max_threads, idle_seconds,
                                               cfg.threads.stack_kib * 1024);
    queue_ = std::make_unique<PocoQueue>(*this, *pool_, max_threads);
    // A process-mode worker shares the socket with its siblings.
    const int batch = cfg.mode == ServiceMode::process ? 1 : Acceptor::kBatch;
    acceptor_ = std::make_unique<Acceptor>(*this, socket.impl()->sockfd(), false, batch);
    wake_fd_ = ::eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
    if (wake_fd_ < 0) throw std::runtime_error("service '" + cfg.name + "': eventfd failed: " + std::strerror(errno));
    accept_thread_ = std::thread([this] { accept_loop(); });
    housekeeping_.start(std::chrono::milliseconds(100),
                        [this] { admission().expire_queued(std::chrono::steady_clock::now()); });
}

void ThreadsService::accept_loop() {
    name_thread(name(), ":acc");
    const int listen_fd = listener().impl()->sockfd();
    const bool shared_listener = config().mode == ServiceMode::process; // with sibling workers
    for (;;) {
        pollfd fds[2] = {{listen_fd, POLLIN, 0}, {wake_fd_, POLLIN, 0}};
        if (::poll(fds, 2, -1) < 0) {
            if (errno == EINTR) continue;
            acceptor_->log_error(std::string("waiting for connections: ") + std::strerror(errno));
            return;
        }
        if (fds[1].revents != 0) return;
        const Acceptor::Batch batch = acceptor_->accept_batch();
        for (int i = 0; i < batch.count; ++i)
            acceptor_->admit(batch.fds[i], *queue_);
        if (batch.closed) return; // the master shut the shared socket down: stopping
        if (batch.pause) {
            pollfd wake{wake_fd_, POLLIN, 0};
            if (::poll(&wake, 1, kDescriptorPauseMs) > 0) return;
        } else if (batch.count == 0 && shared_listener) {
            // Lost the accept race to a sibling worker. poll() wakes the
            // waiter that queued last first, so the winner, back in poll()
            // after us, would win every time; the loser steps back a moment
            // and queues after it, so the next connection goes to the loser.
            pollfd wake{wake_fd_, POLLIN, 0};
            if (::poll(&wake, 1, kLostRaceBackoffMs) > 0) return;
        }
    }
}

bool ThreadsService::wait_sessions(std::chrono::steady_clock::time_point deadline) {
    // A connection Poco has queued or dequeued but whose session has not
    // registered yet is open too: a retired service must not count as
    // drained (and be destroyed, closing it) before those have run.
    for (;;) {
        const bool none_registered = StreamService::wait_sessions(deadline);
        if (none_registered && (!queue_ || queue_->idle())) return true;
        if (std::chrono::steady_clock::now() >= deadline) return false;
        std::this_thread::sleep_for(std::chrono::milliseconds(2));
    }
}

void ThreadsService::stop_accepting() {
    std::lock_guard lock(stop_mutex_);
    if (!accept_thread_.joinable()) return;
    const uint64_t one = 1;
    [[maybe_unused]] const auto written = ::write(wake_fd_, &one, sizeof one);
    // Joined: nothing is accepted or enqueued by this service from here on.
    accept_thread_.join();
    // Handed over: the successor accepts from now on, and what this one
    // accepted before is served here. Otherwise the queued connections are
    // dropped and the socket closed, refusing new ones at once.
    if (!listener_handed_over()) queue_->stop();
    close_listener();
}

} // namespace portico::host
