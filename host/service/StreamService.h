// StreamService.h — what every in-process `protocol: tcp` service has,
// whichever way it runs its sessions (TcpService: a thread per connection;
// EventService: a fiber per connection on event loops): the listening
// socket and its hand-over on a config reload, admission, the TLS context,
// the connection limits and the table of open sessions.
#pragma once

#include "net/Connection.h"
#include "net/TlsContext.h"
#include "service/Admission.h"
#include "service/Service.h"
#include "service/SessionTable.h"

#include <Poco/Net/ServerSocket.h>

#include <memory>
#include <mutex>

namespace portico::host {

class StreamService : public Service {
public:
    bool wait_sessions(std::chrono::steady_clock::time_point deadline) override;
    void close_sessions() override;
    std::size_t close_stale_sessions() override;
    std::string bound_address() const override;
    std::map<uint64_t, std::size_t> sessions_by_generation() override { return sessions_.by_generation(); }

    // For a config reload that changes settings but not the address: the
    // new service adopts the old one's listening socket and starts; then the
    // old one stops without closing the socket, so the kernel's backlog
    // carries connections across the swap.
    Poco::Net::ServerSocket share_listener();
    void adopt_listener(Poco::Net::ServerSocket socket);
    // The listening socket's descriptor, for `portico upgrade` to pass on; -1 before start().
    int listening_fd() const { return listener_.impl()->sockfd(); }

    // tls: the context new connections get; nullptr for a plain service.
    std::shared_ptr<const TlsContext> tls_context() const;
    // Re-reads tls.cert/key/ca; when their content changed, builds a new
    // context and swaps it in for new connections (open ones keep theirs).
    // Returns a line describing the swap, "" when nothing changed; throws
    // TlsError naming the file when it cannot be used (the old one serves on).
    std::string reload_tls();

    Admission &admission() { return admission_; }
    const ConnectionLimits &limits() const { return limits_; }
    // Session bookkeeping for run_stream_session (StreamSession.h).
    void session_started(Connection &conn, const HandlerBinding &binding);
    void session_ended(Connection &conn);

protected:
    // Throws std::runtime_error when the TLS files cannot be used.
    StreamService(ServiceConfig config, std::shared_ptr<ServiceHandle> handle, std::shared_ptr<HandlerBinding> binding);

    // The adopted listening socket, or a new one bound as the config says.
    // Throws std::runtime_error naming the service, its address and the
    // config position.
    Poco::Net::ServerSocket open_listener();
    // After the accept loop has stopped: closes the listening socket (the
    // kernel would go on completing handshakes into the backlog) and removes
    // a unix: socket file, unless the socket was handed to a successor.
    void close_listener();
    bool listener_handed_over() const { return listener_handed_over_; }

private:
    const ConnectionLimits limits_;
    Admission admission_;
    mutable std::mutex tls_mutex_;
    std::shared_ptr<const TlsContext> tls_; // swapped whole by reload_tls()
    SessionTable sessions_;

    Poco::Net::ServerSocket listener_;
    bool listener_adopted_ = false;     // open_listener() uses listener_ instead of binding
    bool listener_handed_over_ = false; // close_listener() must leave it open
    Poco::Net::SocketAddress bound_;
};

} // namespace portico::host
