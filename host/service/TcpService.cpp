// TcpService.cpp — binding the listener and running it on Poco's TCPServer
// with the pool and queue sizes from the YAML (never Poco's defaults).
#include "service/TcpService.h"

#include "service/StreamSession.h"

#include <Poco/Net/TCPServerParams.h>

#include <stdexcept>
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

// Refuses a connection when the service is at max_connections, visibly:
// counted, and logged at most once a second.
class ConnectionLimitFilter : public Poco::Net::TCPServerConnectionFilter {
public:
    ConnectionLimitFilter(const ServiceConfig &config, ServiceCounters &counters, Poco::Logger &logger)
        : config_(config), counters_(counters), logger_(logger) {}

    bool accept(const Poco::Net::StreamSocket &) override {
        if (counters_.active.load() < config_.max_connections) return true;
        const uint64_t refused = ++counters_.refused;
        const auto now = std::chrono::steady_clock::now();
        if (now - last_warning_ > std::chrono::seconds(1)) {
            last_warning_ = now;
            logger_.warning("service '%s': refusing connections: max_connections (%d) reached (%Lu refused so far)",
                            config_.name, config_.max_connections, static_cast<Poco::UInt64>(refused));
        }
        return false;
    }

private:
    const ServiceConfig &config_;
    ServiceCounters &counters_;
    Poco::Logger &logger_;
    std::chrono::steady_clock::time_point last_warning_{}; // only the accept thread touches it
};

} // namespace

TcpService::TcpService(ServiceConfig config, std::shared_ptr<ServiceHandle> handle,
                       std::shared_ptr<HandlerBinding> binding)
    : Service(std::move(config), std::move(handle), std::move(binding)), limits_(limits_of(this->config())) {
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
        socket.bind(Poco::Net::SocketAddress(Poco::Net::SocketAddress::UNIX_LOCAL, listen.path), false);
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
    params->setMaxQueued(cfg.max_queued);
    params->setThreadIdleTime(Poco::Timespan(std::chrono::duration_cast<std::chrono::microseconds>(cfg.threads.idle).count()));

    server_ = std::make_unique<Poco::Net::TCPServer>(new StreamSessionFactory(*this), *pool_, socket, params);
    server_->setConnectionFilter(new ConnectionLimitFilter(cfg, counters(), handle()->logger));
    server_->start();
}

void TcpService::stop_accepting() {
    if (!server_) return;
    server_->stop();
    // TCPServer::stop() only ends its accept loop; the kernel would go on
    // completing handshakes into the backlog. Closing refuses them at once.
    if (!listener_handed_over_) listener_.close();
}

Poco::Net::ServerSocket TcpService::hand_over_listener() {
    listener_handed_over_ = true;
    stop_accepting();
    return listener_;
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
