// ThreadsService.cpp — binding the listener and running it on Poco's TCPServer
// with the pool and queue sizes from the YAML (never Poco's defaults).
#include "service/ThreadsService.h"

#include "service/StreamSession.h"

#include <Poco/AutoPtr.h>
#include <Poco/Net/TCPServerConnection.h>
#include <Poco/Net/TCPServerConnectionFactory.h>
#include <Poco/Net/TCPServerParams.h>
#include <Poco/Thread.h>

#include <algorithm>
#include <thread>
#include <utility>

#include <pthread.h>
#include <sys/socket.h>

namespace portico::host {
namespace {

// Names each worker thread after its service once ("upper:3"), so logs and
// the threadname plugin show whose worker it is. Pool threads belong to one
// service for life, so a per-thread flag is enough.
void name_worker_thread(const std::string &service) {
    thread_local bool named = false;
    if (named) return;
    named = true;
    const Poco::Thread *thread = Poco::Thread::current();
    const std::string id = thread ? std::to_string(thread->id()) : "main";
    const std::string name = service.substr(0, 14 - std::min<std::size_t>(id.size(), 5)) + ":" + id;
    pthread_setname_np(pthread_self(), name.substr(0, 15).c_str());
}

// Poco's hook between accept() and the dispatcher's queue: asks Admission.
class AdmissionFilter : public Poco::Net::TCPServerConnectionFilter {
public:
    explicit AdmissionFilter(ThreadsService &service) : service_(service) {}

    bool accept(const Poco::Net::StreamSocket &socket) override { return service_.admit(socket); }

private:
    ThreadsService &service_;
};

// The session as Poco's dispatcher runs it on a pool thread.
class PoolSession : public Poco::Net::TCPServerConnection {
public:
    PoolSession(const Poco::Net::StreamSocket &socket, StreamService &service, Admission::Ticket ticket)
        : Poco::Net::TCPServerConnection(socket), service_(service), ticket_(std::move(ticket)) {}
    void run() override {
        name_worker_thread(service_.name());
        run_stream_session(service_, socket(), std::move(ticket_), nullptr);
    }

private:
    StreamService &service_;
    Admission::Ticket ticket_;
};

// Poco's dispatcher calls this on the worker that dequeued `socket`; the
// ticket admit() parked for it joins it here.
class PoolSessionFactory : public Poco::Net::TCPServerConnectionFactory {
public:
    explicit PoolSessionFactory(ThreadsService &service) : service_(service) {}
    Poco::Net::TCPServerConnection *createConnection(const Poco::Net::StreamSocket &socket) override {
        // Poco's factory contract: the dispatcher takes ownership of the raw pointer.
        return new PoolSession(socket, service_, service_.claim_ticket(socket));
    }

private:
    ThreadsService &service_;
};

// A session run on the pool directly, outside Poco's dispatcher queue (see
// ThreadsService::admit); deletes itself when done, as Poco's own
// TCPServerDispatcher does with the connections it creates.
class DirectSession : public Poco::Runnable {
public:
    // `pending` counts this session from now until it has ended.
    DirectSession(const Poco::Net::StreamSocket &socket, ThreadsService &service, Admission::Ticket ticket,
                  std::atomic<int> &pending)
        : session_(socket, service, std::move(ticket)), pending_(pending) {
        ++pending_;
    }
    void run() override {
        try {
            session_.run();
        } catch (...) {
            // run_stream_session reports its own failures; nothing may escape a pool thread.
        }
        std::atomic<int> &pending = pending_;
        delete this;
        --pending; // last: the service may be destroyed once it reads 0
    }

private:
    PoolSession session_;
    std::atomic<int> &pending_;
};

} // namespace

ThreadsService::ThreadsService(ServiceConfig config, std::shared_ptr<ServiceHandle> handle,
                               std::shared_ptr<HandlerBinding> binding)
    : StreamService(std::move(config), std::move(handle), std::move(binding)) {}

ThreadsService::~ThreadsService() {
    housekeeping_.stop();
    stop_and_close_sessions();
    server_.reset();
    if (pool_) pool_->joinAll();
}

void ThreadsService::start() {
    const ServiceConfig &cfg = config();
    const Poco::Net::ServerSocket socket = open_tcp_listener();

    const bool single = cfg.mode == ServiceMode::single;
    const int min_threads = single ? 1 : cfg.threads.min;
    const int max_threads = single ? 1 : cfg.threads.max;
    const int idle_seconds = std::max<int>(1, static_cast<int>(cfg.threads.idle.count() / 1000));
    pool_ = std::make_unique<Poco::ThreadPool>(cfg.name, min_threads, max_threads, idle_seconds,
                                               cfg.threads.stack_kib * 1024);

    auto params = Poco::Net::TCPServerParams::Ptr(new Poco::Net::TCPServerParams);
    params->setMaxThreads(max_threads);
    // Admission refuses (visibly) at max_queued when every worker is busy.
    // Poco's own cap must stay above that: it drops a connection silently
    // whenever its queue is full, busy or not (so max_queued 0 would serve
    // nothing, and a burst while workers start would vanish, leaking the
    // admitted slot). The extra max_threads covers such a burst.
    params->setMaxQueued(cfg.max_queued + max_threads);
    // This is how long an idle dispatcher loop waits before looking at its
    // stop flag again (the pool's own idle time is threads.idle, above).
    // Poco's stop() only wakes loops already waiting, so a loop that was
    // between two connections sleeps this long before it sees the flag:
    // keep it short, or every stop (and a config reload) stalls for it.
    params->setThreadIdleTime(Poco::Timespan(0, 250'000));

    server_ = std::make_unique<Poco::Net::TCPServer>(new PoolSessionFactory(*this), *pool_, socket, params);
    max_threads_ = max_threads;
    server_->setConnectionFilter(new AdmissionFilter(*this));
    server_->start();
    housekeeping_.start(std::chrono::milliseconds(100),
                        [this] { admission().expire_queued(std::chrono::steady_clock::now()); });
}

bool ThreadsService::wait_sessions(std::chrono::steady_clock::time_point deadline) {
    // A connection Poco has dequeued but whose session has not registered
    // yet, or one admit() handed to the pool during a hand-over, is open too:
    // a retired service must not count as drained (and be destroyed, closing
    // it) before those have run.
    for (;;) {
        const bool none_registered = StreamService::wait_sessions(deadline);
        if (none_registered && direct_sessions_.load() == 0 && (!server_ || server_->currentConnections() == 0))
            return true;
        if (std::chrono::steady_clock::now() >= deadline) return false;
        std::this_thread::sleep_for(std::chrono::milliseconds(2));
    }
}

void ThreadsService::stop_accepting() {
    if (!server_) return;
    if (listener_handed_over()) {
        // The successor already accepts on the same socket. Poco's stop()
        // drops whatever still waits in this server's queue, so from now on
        // admit() serves what this accept loop still takes outside the
        // queue, and the queue is let empty before stop() (bounded: a stuck
        // pool must not stall a reload).
        handing_over_ = true;
        // An admit() that said "queue it" just before may not have reached
        // the queue yet (Poco enqueues after the filter returns): wait until
        // Poco has accounted for every such connection (queued, taken by a
        // worker, or refused) and the queue is empty.
        const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(2);
        const auto settled = [&] {
            const auto queued = server_->queuedConnections();
            const auto accounted = static_cast<uint64_t>(server_->totalConnections()) + static_cast<uint64_t>(queued) +
                                   static_cast<uint64_t>(server_->refusedConnections());
            return queued == 0 && accounted >= queue_admissions_.load();
        };
        while (!settled() && std::chrono::steady_clock::now() < deadline)
            std::this_thread::sleep_for(std::chrono::milliseconds(2));
    }
    server_->stop();
    // stop() closed the sockets still in Poco's queue: their slots go too.
    {
        std::lock_guard lock(parked_mutex_);
        parked_.clear();
    }
    // TCPServer::stop() only ends its accept loop; the kernel would go on
    // completing handshakes into the backlog. Closing refuses them at once.
    close_listener();
}

bool ThreadsService::admit(const Poco::Net::StreamSocket &socket) {
    const bool busy = counters().active.load() >= max_threads_;
    Admission::Ticket ticket = admission().admit(socket, server_ ? server_->queuedConnections() : 0, busy);
    if (!ticket) return false;
    // Counted before handing_over_ is read: stop_accepting() either sees
    // this one in the count or this call sees the hand-over.
    ++queue_admissions_;
    if (!handing_over_) {
        // Parked before Poco enqueues the socket, so the worker that takes
        // it always finds its ticket.
        std::lock_guard lock(parked_mutex_);
        // An entry still under this descriptor is of a connection Poco
        // dropped without running it (its socket closed, the number reused):
        // replacing it frees that slot.
        parked_[socket.impl()->sockfd()] = std::move(ticket);
        return true; // into Poco's queue, to a worker
    }
    --queue_admissions_;
    auto session = std::make_unique<DirectSession>(socket, *this, std::move(ticket), direct_sessions_);
    try {
        pool_->start(*session);
        session.release(); // it deletes itself when done
    } catch (const Poco::Exception &) {
        // Every worker is taken: refuse visibly rather than queue it to be
        // dropped. The session never ran: its ticket's slot goes with it.
        session.reset();
        --direct_sessions_;
        ++counters().refused;
        if (!config().busy_message.empty())
            ::send(socket.impl()->sockfd(), config().busy_message.data(), config().busy_message.size(),
                   MSG_DONTWAIT | MSG_NOSIGNAL);
    }
    return false; // Poco must not queue it: this server is stopping
}

Admission::Ticket ThreadsService::claim_ticket(const Poco::Net::StreamSocket &socket) {
    std::lock_guard lock(parked_mutex_);
    const auto it = parked_.find(socket.impl()->sockfd());
    // None: stop_accepting() dropped it while this worker was taking the
    // socket; the session runs, outside the counts, as it is already here.
    if (it == parked_.end()) return {};
    Admission::Ticket ticket = std::move(it->second);
    parked_.erase(it);
    return ticket;
}

} // namespace portico::host
