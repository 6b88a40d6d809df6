// TcpService.h — a `protocol: tcp` service: a listening socket served by its
// own Poco::Net::TCPServer and ThreadPool, with its own limits. Connections
// become StreamSessions, each pinning the HandlerBinding current when it
// starts.
#pragma once

#include "service/Admission.h"
#include "service/Connection.h"
#include "service/Service.h"
#include "service/TlsContext.h"

#include <Poco/Net/ServerSocket.h>
#include <Poco/Net/TCPServer.h>
#include <Poco/ThreadPool.h>

#include <atomic>
#include <condition_variable>
#include <map>
#include <memory>
#include <mutex>
#include <thread>

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

    // For a config reload that changes settings but not the address: the
    // new service adopts the old one's listening socket and starts; then the
    // old one stops (after its queue empties) without closing the socket, so
    // the kernel's backlog carries connections across the swap.
    Poco::Net::ServerSocket share_listener();
    void adopt_listener(Poco::Net::ServerSocket socket);
    Admission &admission() { return admission_; }

    // tls: the context new connections get; nullptr for a plain service.
    std::shared_ptr<const TlsContext> tls_context() const;
    // Re-reads tls.cert/key/ca; when their content changed, builds a new
    // context and swaps it in for new connections (open ones keep theirs).
    // Returns a line describing the swap, "" when nothing changed; throws
    // TlsError naming the file when it cannot be used (the old one serves on).
    std::string reload_tls();

    // Called by Poco's accept thread for each new connection: Admission
    // decides; true hands it to Poco's queue. While this service hands its
    // listener over, admitted connections run on the pool directly instead.
    bool admit(const Poco::Net::StreamSocket &socket);

    // Session bookkeeping for StreamSession.
    const ConnectionLimits &limits() const { return limits_; }
    void session_started(Connection &conn, const HandlerBinding &binding);
    void session_ended(Connection &conn);

private:
    Poco::Net::ServerSocket make_listener() const;
    // Expires connections that waited in the queue past queue_timeout.
    void housekeeping();
    void stop_housekeeping();

    const ConnectionLimits limits_;
    Admission admission_;
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
    std::atomic<bool> handing_over_{false}; // admit() bypasses Poco's queue
    int max_threads_ = 1;
    Poco::Net::SocketAddress bound_;

    std::mutex housekeeping_mutex_;
    std::condition_variable housekeeping_wake_;
    bool housekeeping_stop_ = false;
    std::thread housekeeping_;
};

} // namespace portico::host
