// TcpService.h — a `protocol: tcp` service: a listening socket served by its
// own Poco::Net::TCPServer and ThreadPool, with its own limits. Connections
// become StreamSessions, each pinning the HandlerBinding current when it
// starts.
#pragma once

#include "service/Connection.h"
#include "service/Service.h"
#include "service/TlsContext.h"

#include <Poco/Net/ServerSocket.h>
#include <Poco/Net/TCPServer.h>
#include <Poco/ThreadPool.h>

#include <condition_variable>
#include <map>
#include <memory>
#include <mutex>

namespace portico::host {

class TcpService : public Service {
public:
    TcpService(ServiceConfig config, std::shared_ptr<ServiceHandle> handle, std::shared_ptr<HandlerBinding> binding);
    // Stops accepting and closes any session still open.
    ~TcpService() override;

    void start() override;
    void stop_accepting() override;
    bool wait_sessions(std::chrono::steady_clock::time_point deadline) override;
    void close_sessions() override;
    std::size_t close_stale_sessions() override;
    std::string bound_address() const override;
    std::map<uint64_t, std::size_t> sessions_by_generation() override;
    std::map<uint64_t, std::size_t> sessions_by_generation() override;

    // For a config reload that changes settings but not the address: the
    // old service stops accepting and hands its listening socket to the new
    // one, so the kernel's backlog carries connections across the swap.
    Poco::Net::ServerSocket hand_over_listener();
    void adopt_listener(Poco::Net::ServerSocket socket);

    // tls: the context new connections get; nullptr for a plain service.
    std::shared_ptr<const TlsContext> tls_context() const;
    // Re-reads tls.cert/key/ca; when their content changed, builds a new
    // context and swaps it in for new connections (open ones keep theirs).
    // Returns a line describing the swap, "" when nothing changed; throws
    // TlsError naming the file when it cannot be used (the old one serves on).
    std::string reload_tls();

    // Session bookkeeping for StreamSession.
    const ConnectionLimits &limits() const { return limits_; }
    void session_started(Connection &conn, const HandlerBinding &binding);
    void session_ended(Connection &conn);

private:
    Poco::Net::ServerSocket make_listener() const;

    const ConnectionLimits limits_;
    mutable std::mutex tls_mutex_;
    std::shared_ptr<const TlsContext> tls_; // swapped whole by reload_tls()

    std::mutex sessions_mutex_;
    std::condition_variable sessions_done_;
    std::map<Connection *, const HandlerBinding *> sessions_; // open session → the binding it pinned

    // Declared before server_: the server must stop before its pool goes.
    std::unique_ptr<Poco::ThreadPool> pool_;
    std::unique_ptr<Poco::Net::TCPServer> server_;
    Poco::Net::ServerSocket listener_; // shares the server's socket, so stop can close it
    bool listener_adopted_ = false;    // start() uses listener_ instead of binding
    bool listener_handed_over_ = false; // stop_accepting() must not close it
    Poco::Net::SocketAddress bound_;
};

} // namespace portico::host
