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
    : config_(std::move(config)), limits_(limits_of(config_)), handle_(std::move(handle)),
      binding_(std::move(binding)) {}

TcpService::~TcpService() {
    stop_accepting();
    close_sessions();
    wait_sessions(std::chrono::steady_clock::now() + std::chrono::seconds(5));
    server_.reset();
    if (pool_) pool_->joinAll();
}

Poco::Net::ServerSocket TcpService::make_listener() const {
    const ListenAddress &listen = config_.listen;
    Poco::Net::ServerSocket socket;
    if (listen.kind == ListenAddress::Kind::unix_path) {
        socket.bind(Poco::Net::SocketAddress(Poco::Net::SocketAddress::UNIX_LOCAL, listen.path), false);
    } else if (listen.is_v6()) {
        socket.bind6(Poco::Net::SocketAddress(listen.host, listen.port), config_.reuse_address, config_.reuse_port,
                     true);
    } else {
        socket.bind(Poco::Net::SocketAddress(listen.host, listen.port), config_.reuse_address, config_.reuse_port);
    }
    socket.listen(config_.backlog);
    return socket;
}

void TcpService::start() {
    Poco::Net::ServerSocket socket;
    try {
        socket = make_listener();
    } catch (const Poco::Exception &e) {
        throw std::runtime_error("service '" + config_.name + "': cannot listen on " + config_.listen.to_string() +
                                 ": " + e.displayText() + " (" + config_.listen_pos.to_string() + ")");
    }
    bound_ = socket.address();

    const bool single = config_.mode == ServiceMode::single;
    const int min_threads = single ? 1 : config_.threads.min;
    const int max_threads = single ? 1 : config_.threads.max;
    const int idle_seconds = std::max<int>(1, static_cast<int>(config_.threads.idle.count() / 1000));
    pool_ = std::make_unique<Poco::ThreadPool>(config_.name, min_threads, max_threads, idle_seconds,
                                               config_.threads.stack_kib * 1024);

    auto params = Poco::Net::TCPServerParams::Ptr(new Poco::Net::TCPServerParams);
    params->setMaxThreads(max_threads);
    params->setMaxQueued(config_.max_queued);
    params->setThreadIdleTime(Poco::Timespan(std::chrono::duration_cast<std::chrono::microseconds>(config_.threads.idle).count()));

    server_ = std::make_unique<Poco::Net::TCPServer>(new StreamSessionFactory(*this), *pool_, socket, params);
    server_->setConnectionFilter(new ConnectionLimitFilter(config_, counters_, handle_->logger));
    server_->start();
}

void TcpService::stop_accepting() {
    if (server_) server_->stop();
}

bool TcpService::wait_sessions(std::chrono::steady_clock::time_point deadline) {
    std::unique_lock lock(sessions_mutex_);
    return sessions_done_.wait_until(lock, deadline, [&] { return sessions_.empty(); });
}

void TcpService::close_sessions() {
    std::lock_guard lock(sessions_mutex_);
    for (Connection *conn : sessions_) conn->force_close();
}

std::string TcpService::bound_address() const {
    if (config_.listen.kind == ListenAddress::Kind::unix_path) return config_.listen.to_string();
    return bound_.toString();
}

std::shared_ptr<HandlerBinding> TcpService::binding() const {
    std::lock_guard lock(binding_mutex_);
    return binding_;
}

void TcpService::set_binding(std::shared_ptr<HandlerBinding> binding) {
    std::shared_ptr<HandlerBinding> old;
    {
        std::lock_guard lock(binding_mutex_);
        old = std::exchange(binding_, std::move(binding));
    }
    // `old` is released here, outside the lock; sessions may still hold it.
}

void TcpService::session_started(Connection &conn) {
    ++counters_.accepted;
    ++counters_.active;
    std::lock_guard lock(sessions_mutex_);
    sessions_.insert(&conn);
}

void TcpService::session_ended(Connection &conn) {
    std::lock_guard lock(sessions_mutex_);
    sessions_.erase(&conn);
    --counters_.active;
    if (sessions_.empty()) sessions_done_.notify_all();
}

} // namespace portico::host
