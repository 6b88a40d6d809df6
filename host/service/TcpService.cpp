// TcpService.cpp — binding the listener and running it on Poco's TCPServer
// with the pool and queue sizes from the YAML (never Poco's defaults).
#include "service/TcpService.h"

#include "service/StreamSession.h"

#include <Poco/Net/TCPServerParams.h>

#include <Poco/AutoPtr.h>

#include <sys/socket.h>

#include <thread>
#include <utility>

namespace portico::host {
namespace {

// Poco's hook between accept() and the dispatcher's queue: asks Admission.
class AdmissionFilter : public Poco::Net::TCPServerConnectionFilter {
public:
    explicit AdmissionFilter(TcpService &service) : service_(service) {}

    bool accept(const Poco::Net::StreamSocket &socket) override { return service_.admit(socket); }

private:
    TcpService &service_;
};

// A session run on the pool directly, outside Poco's dispatcher queue (see
// TcpService::admit); deletes itself when done, as Poco's own
// TCPServerDispatcher does with the connections it creates.
class DirectSession : public Poco::Runnable {
public:
    // `pending` counts this session from now until it has ended.
    DirectSession(const Poco::Net::StreamSocket &socket, TcpService &service, std::atomic<int> &pending)
        : session_(socket, service), pending_(pending) {
        ++pending_;
    }
    void run() override {
        try {
            session_.run();
        } catch (...) {
            // StreamSession::run reports its own failures; nothing may escape a pool thread.
        }
        std::atomic<int> &pending = pending_;
        delete this;
        --pending; // last: the service may be destroyed once it reads 0
    }

private:
    StreamSession session_;
    std::atomic<int> &pending_;
};

} // namespace

TcpService::TcpService(ServiceConfig config, std::shared_ptr<ServiceHandle> handle,
                       std::shared_ptr<HandlerBinding> binding)
    : StreamService(std::move(config), std::move(handle), std::move(binding)) {}

TcpService::~TcpService() {
    housekeeping_.stop();
    stop_accepting();
    close_sessions();
    wait_sessions(std::chrono::steady_clock::now() + std::chrono::seconds(5));
    server_.reset();
    if (pool_) pool_->joinAll();
}

void TcpService::start() {
    const ServiceConfig &cfg = config();
    const Poco::Net::ServerSocket socket = open_listener();

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

    server_ = std::make_unique<Poco::Net::TCPServer>(new StreamSessionFactory(*this), *pool_, socket, params);
    max_threads_ = max_threads;
    server_->setConnectionFilter(new AdmissionFilter(*this));
    server_->start();
    housekeeping_.start(std::chrono::milliseconds(100),
                        [this] { admission().expire_queued(std::chrono::steady_clock::now()); });
}

bool TcpService::wait_sessions(std::chrono::steady_clock::time_point deadline) {
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

void TcpService::stop_accepting() {
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
    admission().clear();
    // TCPServer::stop() only ends its accept loop; the kernel would go on
    // completing handshakes into the backlog. Closing refuses them at once.
    close_listener();
}

bool TcpService::admit(const Poco::Net::StreamSocket &socket) {
    const bool busy = counters().active.load() >= max_threads_;
    if (!admission().admit(socket, server_ ? server_->queuedConnections() : 0, busy)) return false;
    // Counted before handing_over_ is read: stop_accepting() either sees
    // this one in the count or this call sees the hand-over.
    ++queue_admissions_;
    if (!handing_over_) return true; // into Poco's queue, to a worker
    --queue_admissions_;
    try {
        pool_->start(*new DirectSession(socket, *this, direct_sessions_));
    } catch (const Poco::Exception &) {
        // Every worker is taken: refuse visibly rather than queue it to be dropped.
        admission().finish(socket);
        counters().count_refusal(RefusalReason::queue_full);
        if (!config().busy_message.empty())
            ::send(socket.impl()->sockfd(), config().busy_message.data(), config().busy_message.size(),
                   MSG_DONTWAIT | MSG_NOSIGNAL);
    }
    return false; // Poco must not queue it: this server is stopping
}

} // namespace portico::host
