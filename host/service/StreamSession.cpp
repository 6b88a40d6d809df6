// StreamSession.cpp — the path from an accepted socket to a plugin's handle().
#include "service/StreamSession.h"

#include "event/Fiber.h"
#include "net/SocketOptions.h"
#include "plugin/RunningCode.h"
#include "service/AccessLog.h"
#include "service/ProxyStage.h"
#include "service/StreamService.h"

#include <Poco/Logger.h>

#include <memory>
#include <optional>

namespace portico::host {
namespace {

// Ends the session's registration however handle() leaves.
class SessionRegistration {
public:
    SessionRegistration(StreamService &service, Connection &conn, const HandlerBinding &binding)
        : service_(service), conn_(conn) {
        service_.session_started(conn_, binding);
    }
    ~SessionRegistration() { service_.session_ended(conn_); }
    SessionRegistration(const SessionRegistration &) = delete;
    SessionRegistration &operator=(const SessionRegistration &) = delete;

private:
    StreamService &service_;
    Connection &conn_;
};

// Mode events: while a handler that declared PORTICO_TRAIT_STACK_PRIVATE
// runs, its fiber's parked stack may be compacted (Fiber::compact). The
// host's own frames below it qualify: what other threads and the loop reach
// while the fiber waits (the Connection, the FiberIo) lives on the heap.
class PrivateStackScope {
public:
    explicit PrivateStackScope(const HandlerBinding &binding)
        : fiber_((binding.handler().desc.traits & PORTICO_TRAIT_STACK_PRIVATE) != 0 ? Fiber::current() : nullptr) {
        if (fiber_ != nullptr) fiber_->set_stack_private(true);
    }
    ~PrivateStackScope() {
        if (fiber_ != nullptr) fiber_->set_stack_private(false);
    }
    PrivateStackScope(const PrivateStackScope &) = delete;
    PrivateStackScope &operator=(const PrivateStackScope &) = delete;

private:
    Fiber *fiber_;
};

void log_access(const Connection &conn, const HandlerBinding &binding, int rc, std::chrono::nanoseconds duration) {
    AccessRecord record;
    record.service = binding.service().name;
    record.peer = conn.peer();
    record.proxy = conn.proxy();
    record.handler = binding.version().plugin_name() + "." + binding.handler().name;
    record.plugin_version = binding.version().plugin_version();
    record.generation = binding.version().generation();
    record.duration = duration;
    record.bytes_in = conn.bytes_in();
    record.bytes_out = conn.bytes_out();
    record.end = classify_session_end(rc, conn.forced(), conn.end_reason());
    if (conn.end_reason() != nullptr) record.detail = conn.end_reason();
    write_access_log(record);
}

} // namespace

void run_stream_session(StreamService &service, const Poco::Net::StreamSocket &socket, Admission::Ticket ticket,
                        IoWait *wait) {
    // Admitted on the accept thread (or loop); `ticket` frees the slot however we leave.
    if (!ticket.start()) return; // waited past queue_timeout: already refused
    const ServiceConfig &config = service.config();
    std::optional<ProxiedPeer> proxied;
    if (config.proxy_protocol != ProxyProtocol::off) {
        PollWait poll_wait(socket.impl()->sockfd());
        proxied = run_proxy_stage(service, socket, ticket, wait != nullptr ? *wait : poll_wait);
        if (!proxied) return; // refused: counted and logged, never reaches the handler
    }
    ticket.serving();
    if (config.listen.kind == ListenAddress::Kind::inet) {
        try {
            Poco::Net::StreamSocket options(socket);
            // Both ways: Poco's TCPServer turns TCP_NODELAY on for every
            // socket it accepts, so `tcp_nodelay: false` must turn it off.
            options.setNoDelay(config.tcp_nodelay);
            if (config.keepalive) options.setKeepAlive(true);
        } catch (const Poco::Exception &) {
            // The peer may have gone already; the handler will see it.
        }
    }
    if (const std::string failed =
            apply_socket_options(socket.impl()->sockfd(), config.socket_options, SocketOptionTarget::accepted);
        !failed.empty()) {
        // Served anyway, as with the host's own options: the peer may simply be gone.
        Poco::Logger &log = service.handle()->logger;
        if (log.warning()) log.warning("service '%s': %s", service.name(), failed);
    }
    // Resolved once per connection: this session keeps this plugin version
    // for its whole life, whatever reloads happen meanwhile.
    const std::shared_ptr<HandlerBinding> binding = service.binding();
    // TLS: the context current now serves this connection to its end, even
    // if a reload swaps the certificate meanwhile.
    // On the heap: the session table's force_close reaches it from other
    // threads while the handler waits, so it must not sit on a stack that
    // may be compacted meanwhile (PrivateStackScope).
    const auto owned =
        std::make_unique<Connection>(socket, binding->service(), service.limits(), service.tls_context(), wait);
    Connection &conn = *owned;
    if (proxied && !proxied->client.empty()) conn.set_proxied(proxied->client);
    ServiceCounters &counters = service.counters();
    conn.count_into(&counters.bytes_in, &counters.bytes_out);
    const auto started = std::chrono::steady_clock::now();
    int rc = PORTICO_OK;
    {
        SessionRegistration registration(service, conn, *binding);
        // Registered first, so shutdown's force_close also cuts a stalled handshake.
        std::string tls_error;
        rc = conn.handshake(tls_error);
        if (rc != PORTICO_OK) {
            Poco::Logger &log = binding->service().logger;
            if (log.information() && rc != PORTICO_ERR_STOPPING)
                log.information("service '%s': peer %s: TLS handshake failed: %s", service.name(), conn.peer(),
                                tls_error);
        } else {
            const PluginVersion &version = binding->version();
            const RunningCodeScope running(service.name(), version.plugin_name(), version.plugin_version(),
                                           version.generation(), version.plugin_name() + "." + binding->handler().name,
                                           conn.peer());
            const PrivateStackScope private_stack(*binding);
            rc = binding->handle_stream(&conn);
        }
        if (rc == PORTICO_ERR_HANDLER || rc == PORTICO_ERR_INVALID) ++counters.handler_errors;
        if (rc == PORTICO_ERR_TIMEOUT) ++counters.timeouts;
    }
    const auto duration = std::chrono::steady_clock::now() - started;
    counters.session_duration.record(duration);
    if (config.access_log) log_access(conn, *binding, rc, duration);
    if (conn.end_reason() != nullptr) {
        Poco::Logger &log = binding->service().logger;
        if (log.information())
            log.information("service '%s': peer %s: closed by the host: %s", service.name(), conn.peer(),
                            std::string(conn.end_reason()));
    }
}

} // namespace portico::host
