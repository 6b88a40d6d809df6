// StreamService.h — what every in-process `protocol: tcp` service has,
// whichever way it runs its sessions (ThreadsService: a thread per
// connection; EventService: a fiber per connection on event loops):
// admission, the TLS context, the connection limits, the table of open
// sessions and how they end when the service goes.
#pragma once

#include "net/Connection.h"
#include "net/TlsContext.h"
#include "service/Admission.h"
#include "service/Service.h"
#include "service/SessionTable.h"

#include <memory>
#include <mutex>

namespace portico::host {

class StreamService : public Service {
public:
    bool wait_sessions(std::chrono::steady_clock::time_point deadline) override;
    void close_sessions() override;
    std::size_t close_sessions_replaced_by(std::chrono::steady_clock::time_point replaced_by) override;
    std::map<uint64_t, std::size_t> sessions_by_generation() override { return sessions_.by_generation(); }

    // tls: the context new connections get; nullptr for a plain service.
    std::shared_ptr<const TlsContext> tls_context() const;
    // Re-reads tls.cert/key/ca; when their content changed, builds a new
    // context and swaps it in for new connections (open ones keep theirs).
    // Returns a line describing the swap, "" when nothing changed; throws
    // TlsError naming the file when it cannot be used (the old one serves on).
    std::string reload_tls() override;

    Admission &admission() { return admission_; }
    const ConnectionLimits &limits() const { return limits_; }
    // Session bookkeeping for run_stream_session (StreamSession.h).
    void session_started(Connection &conn, const HandlerBinding &binding);
    void session_ended(Connection &conn);

protected:
    // Throws std::runtime_error when the TLS files cannot be used.
    StreamService(ServiceConfig config, std::shared_ptr<ServiceHandle> handle, std::shared_ptr<HandlerBinding> binding);

    // For the destructors of the modes, while their accept loop and workers
    // still exist: stops accepting, closes every open session and gives them
    // a few seconds to end.
    void stop_and_close_sessions();

private:
    const ConnectionLimits limits_;
    Admission admission_;
    mutable std::mutex tls_mutex_;
    std::shared_ptr<const TlsContext> tls_; // swapped whole by reload_tls()
    SessionTable sessions_;
};

} // namespace portico::host
