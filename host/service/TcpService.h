// TcpService.h — one `protocol: tcp` entry of the YAML: a listening socket
// served by its own Poco::Net::TCPServer and ThreadPool, with its own limits.
// Connections become StreamSessions, each pinning the HandlerBinding that is
// current when it starts.
#pragma once

#include "config/Config.h"
#include "service/Connection.h"
#include "service/HandlerBinding.h"
#include "service/ServiceCounters.h"
#include "service/ServiceHandle.h"

#include <Poco/Net/ServerSocket.h>
#include <Poco/Net/TCPServer.h>
#include <Poco/ThreadPool.h>

#include <chrono>
#include <condition_variable>
#include <memory>
#include <mutex>
#include <set>
#include <string>

namespace portico::host {

class TcpService {
public:
    TcpService(ServiceConfig config, std::shared_ptr<ServiceHandle> handle, std::shared_ptr<HandlerBinding> binding);
    // Stops accepting and closes any session still open.
    ~TcpService();
    TcpService(const TcpService &) = delete;
    TcpService &operator=(const TcpService &) = delete;

    // Binds and listens; throws std::runtime_error naming the service and
    // address when the socket cannot be bound.
    void start();
    // Stops accepting; open sessions continue. Idempotent.
    void stop_accepting();
    // Waits until no session is open or the deadline passes; true if none left.
    bool wait_sessions(std::chrono::steady_clock::time_point deadline);
    // Ends every open session now: their blocked reads return "stopping".
    void close_sessions();

    const ServiceConfig &config() const { return config_; }
    const std::string &name() const { return config_.name; }
    // The address actually bound ("127.0.0.1:40123" when the config said :0).
    std::string bound_address() const;
    ServiceCounters &counters() { return counters_; }
    const ServiceCounters &counters() const { return counters_; }
    std::shared_ptr<ServiceHandle> handle() const { return handle_; }

    std::shared_ptr<HandlerBinding> binding() const;
    void set_binding(std::shared_ptr<HandlerBinding> binding);

    // Session bookkeeping for StreamSession.
    const ConnectionLimits &limits() const { return limits_; }
    void session_started(Connection &conn);
    void session_ended(Connection &conn);

private:
    Poco::Net::ServerSocket make_listener() const;

    const ServiceConfig config_;
    const ConnectionLimits limits_;
    std::shared_ptr<ServiceHandle> handle_;
    ServiceCounters counters_;

    mutable std::mutex binding_mutex_;
    std::shared_ptr<HandlerBinding> binding_;

    std::mutex sessions_mutex_;
    std::condition_variable sessions_done_;
    std::set<Connection *> sessions_;

    // Declared before server_: the server must stop before its pool goes.
    std::unique_ptr<Poco::ThreadPool> pool_;
    std::unique_ptr<Poco::Net::TCPServer> server_;
    Poco::Net::SocketAddress bound_;
};

} // namespace portico::host
