// TcpService.cpp — binding the listener and running it on Poco's TCPServer
// with the pool and queue sizes from the YAML (never Poco's defaults).
#include "service/TcpService.h"

#include "service/StreamSession.h"

#include <Poco/Net/TCPServerParams.h>

#include <Poco/AutoPtr.h>

#include <cerrno>
#include <cstring>

#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <unistd.h>

#include <functional>
#include <stdexcept>
#include <thread>
#include <utility>

namespace portico::host {
namespace {

ConnectionLimits limits_of(const ServiceConfig &c) {
    ConnectionLimits limits;
    limits.read_timeout = c.read_timeout;
    limits.idle_timeout = c.idle_timeout;
    limits.max_line = c.max_line;
    return limits;
}

// A socket file left by a process that died is removed; one that a live
// server still answers on is an error (two hosts must not share a path).
void remove_stale_unix_socket(const std::string &path) {
    struct stat st {};
    if (::lstat(path.c_str(), &st) != 0) return; // nothing there
    if (!S_ISSOCK(st.st_mode))
        throw std::runtime_error(path + " exists and is not a socket; remove it or choose another path");
    const int fd = ::socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
    sockaddr_un addr{};
    addr.sun_family = AF_UNIX;
    std::strncpy(addr.sun_path, path.c_str(), sizeof addr.sun_path - 1);
    const bool live = fd >= 0 && ::connect(fd, reinterpret_cast<sockaddr *>(&addr), sizeof addr) == 0;
    if (fd >= 0) ::close(fd);
    if (live) throw std::runtime_error(path + " is in use by another running server");
    ::unlink(path.c_str());
}

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
    DirectSession(const Poco::Net::StreamSocket &socket, TcpService &service) : session_(socket, service) {}
    void run() override {
        try {
            session_.run();
        } catch (...) {
            // StreamSession::run reports its own failures; nothing may escape a pool thread.
        }
        delete this;
    }

private:
    StreamSession session_;
};

} // namespace

TcpService::TcpService(ServiceConfig config, std::shared_ptr<ServiceHandle> handle,
                       std::shared_ptr<HandlerBinding> binding)
    : Service(std::move(config), std::move(handle), std::move(binding)), limits_(limits_of(this->config())),
      admission_(this->config(), counters(), this->handle()->logger) {
    if (!this->config().tls) return;
    try {
        tls_ = TlsContext::load(*this->config().tls);
    } catch (const TlsError &e) {
        throw std::runtime_error("service '" + this->config().name + "': tls: " + e.what());
    }
}

std::shared_ptr<const TlsContext> TcpService::tls_context() const {
    std::lock_guard lock(tls_mutex_);
    return tls_;
}

std::string TcpService::reload_tls() {
    const std::shared_ptr<const TlsContext> current = tls_context();
    if (!current) return {};
    const TlsConfig &files = *config().tls;
    if (TlsContext::read_fingerprint(files) == current->fingerprint()) return {};
    std::shared_ptr<const TlsContext> fresh = TlsContext::load(files);
    {
        std::lock_guard lock(tls_mutex_);
        tls_ = fresh;
    }
    return "service '" + name() + "': new TLS certificate " + fresh->subject() + " (expires " +
           fresh->expires_text() + ") for new connections; open ones keep the old one";
}

TcpService::~TcpService() {
    stop_housekeeping();
    stop_accepting();
    close_sessions();
    wait_sessions(std::chrono::steady_clock::now() + std::chrono::seconds(5));
    server_.reset();
    if (pool_) pool_->joinAll();
}

Poco::Net::ServerSocket TcpService::make_listener() const {
    const ServiceConfig &cfg = config();
    const ListenAddress &listen = cfg.listen;
    Poco::Net::ServerSocket socket;
    if (listen.kind == ListenAddress::Kind::unix_path) {
        remove_stale_unix_socket(listen.path);
        socket.bind(Poco::Net::SocketAddress(Poco::Net::SocketAddress::UNIX_LOCAL, listen.path), false);
        if (::chmod(listen.path.c_str(), static_cast<mode_t>(cfg.unix_mode)) != 0)
            throw std::runtime_error("cannot set mode of " + listen.path + ": " + std::strerror(errno));
    } else if (listen.is_v6()) {
        socket.bind6(Poco::Net::SocketAddress(listen.host, listen.port), cfg.reuse_address, cfg.reuse_port,
                     true);
    } else {
        socket.bind(Poco::Net::SocketAddress(listen.host, listen.port), cfg.reuse_address, cfg.reuse_port);
    }
    socket.listen(cfg.backlog);
    return socket;
}

void TcpService::start() {
    const ServiceConfig &cfg = config();
    Poco::Net::ServerSocket socket;
    try {
        socket = listener_adopted_ ? listener_ : make_listener();
    } catch (const Poco::Exception &e) {
        throw std::runtime_error("service '" + cfg.name + "': cannot listen on " + cfg.listen.to_string() +
                                 ": " + e.displayText() + " (" + cfg.listen_pos.to_string() + ")");
    }
    bound_ = socket.address();
    listener_ = socket;

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
    housekeeping_ = std::thread([this] { housekeeping(); });
}

void TcpService::stop_accepting() {
    if (!server_) return;
    if (listener_handed_over_) {
        // The successor already accepts on the same socket. Poco's stop()
        // drops whatever still waits in this server's queue, so from now on
        // admit() serves what this accept loop still takes outside the
        // queue, and the queue is let empty before stop() (bounded: a stuck
        // pool must not stall a reload).
        handing_over_ = true;
        const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(2);
        while (server_->queuedConnections() > 0 && std::chrono::steady_clock::now() < deadline)
            std::this_thread::sleep_for(std::chrono::milliseconds(2));
    }
    server_->stop();
    admission_.clear();
    if (!listener_handed_over_ && config().listen.kind == ListenAddress::Kind::unix_path)
        ::unlink(config().listen.path.c_str());
    // TCPServer::stop() only ends its accept loop; the kernel would go on
    // completing handshakes into the backlog. Closing refuses them at once.
    if (!listener_handed_over_) listener_.close();
}

bool TcpService::admit(const Poco::Net::StreamSocket &socket) {
    const bool busy = counters().active.load() >= max_threads_;
    if (!admission_.admit(socket, server_ ? server_->queuedConnections() : 0, busy)) return false;
    if (!handing_over_) return true; // into Poco's queue, to a worker
    try {
        pool_->start(*new DirectSession(socket, *this));
    } catch (const Poco::Exception &) {
        // Every worker is taken: refuse visibly rather than queue it to be dropped.
        admission_.finish(socket);
        ++counters().refused;
        if (!config().busy_message.empty())
            ::send(socket.impl()->sockfd(), config().busy_message.data(), config().busy_message.size(),
                   MSG_DONTWAIT | MSG_NOSIGNAL);
    }
    return false; // Poco must not queue it: this server is stopping
}

Poco::Net::ServerSocket TcpService::share_listener() {
    listener_handed_over_ = true;
    return listener_;
}

void TcpService::housekeeping() {
    std::unique_lock lock(housekeeping_mutex_);
    while (!housekeeping_stop_) {
        housekeeping_wake_.wait_for(lock, std::chrono::milliseconds(100));
        admission_.expire_queued(std::chrono::steady_clock::now());
    }
}

void TcpService::stop_housekeeping() {
    {
        std::lock_guard lock(housekeeping_mutex_);
        housekeeping_stop_ = true;
    }
    housekeeping_wake_.notify_all();
    if (housekeeping_.joinable()) housekeeping_.join();
}

void TcpService::adopt_listener(Poco::Net::ServerSocket socket) {
    listener_ = std::move(socket);
    listener_adopted_ = true;
}

bool TcpService::wait_sessions(std::chrono::steady_clock::time_point deadline) {
    std::unique_lock lock(sessions_mutex_);
    return sessions_done_.wait_until(lock, deadline, [&] { return sessions_.empty(); });
}

void TcpService::close_sessions() {
    std::lock_guard lock(sessions_mutex_);
    for (const auto &[conn, binding] : sessions_) conn->force_close();
}

std::size_t TcpService::close_stale_sessions() {
    const std::shared_ptr<HandlerBinding> current = binding();
    std::size_t closed = 0;
    std::lock_guard lock(sessions_mutex_);
    for (const auto &[conn, binding] : sessions_) {
        if (binding == current.get()) continue;
        conn->force_close();
        ++closed;
    }
    return closed;
}

std::map<uint64_t, std::size_t> TcpService::sessions_by_generation() {
    std::map<uint64_t, std::size_t> counts;
    std::lock_guard lock(sessions_mutex_);
    // Each open session holds its binding, so the pointers are alive here.
    for (const auto &[conn, binding] : sessions_) ++counts[binding->version().generation()];
    return counts;
}

std::string TcpService::bound_address() const {
    if (config().listen.kind == ListenAddress::Kind::unix_path) return config().listen.to_string();
    return bound_.toString();
}

void TcpService::session_started(Connection &conn, const HandlerBinding &binding) {
    ++counters().accepted;
    ++counters().active;
    std::lock_guard lock(sessions_mutex_);
    sessions_.emplace(&conn, &binding);
}

void TcpService::session_ended(Connection &conn) {
    std::lock_guard lock(sessions_mutex_);
    sessions_.erase(&conn);
    --counters().active;
    if (sessions_.empty()) sessions_done_.notify_all();
}

} // namespace portico::host
