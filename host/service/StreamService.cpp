// StreamService.cpp — listener, TLS context and session table shared by the
// stream service kinds.
#include "service/StreamService.h"

#include "net/Listener.h"

#include <stdexcept>

#include <unistd.h>

namespace portico::host {
namespace {

ConnectionLimits limits_of(const ServiceConfig &c) {
    ConnectionLimits limits;
    limits.read_timeout = c.read_timeout;
    limits.idle_timeout = c.idle_timeout;
    limits.max_line = c.max_line;
    return limits;
}

} // namespace

StreamService::StreamService(ServiceConfig config, std::shared_ptr<ServiceHandle> handle,
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

std::shared_ptr<const TlsContext> StreamService::tls_context() const {
    std::lock_guard lock(tls_mutex_);
    return tls_;
}

std::string StreamService::reload_tls() {
    const std::shared_ptr<const TlsContext> current = tls_context();
    if (!current) return {};
    const TlsConfig &files = *config().tls;
    if (TlsContext::read_fingerprint(files) == current->fingerprint()) return {};
    std::shared_ptr<const TlsContext> fresh = TlsContext::load(files);
    {
        std::lock_guard lock(tls_mutex_);
        tls_ = fresh;
    }
    return "service '" + name() + "': new TLS certificate " + fresh->subject() + " (expires " + fresh->expires_text() +
           ") for new connections; open ones keep the old one";
}

Poco::Net::ServerSocket StreamService::open_listener() {
    const ServiceConfig &cfg = config();
    if (!listener_adopted_) {
        const auto fail = [&](const std::string &why) {
            return std::runtime_error("service '" + cfg.name + "': cannot listen on " + cfg.listen.to_string() + ": " +
                                      why + " (" + cfg.listen_pos.to_string() + ")");
        };
        try {
            listener_ = bind_listener(cfg);
        } catch (const Poco::Exception &e) {
            throw fail(e.displayText());
        } catch (const std::runtime_error &e) {
            throw fail(e.what());
        }
    }
    bound_ = listener_.address();
    return listener_;
}

void StreamService::close_listener() {
    if (listener_handed_over_) return;
    if (config().listen.kind == ListenAddress::Kind::unix_path) ::unlink(config().listen.path.c_str());
    listener_.close();
}

Poco::Net::ServerSocket StreamService::share_listener() {
    listener_handed_over_ = true;
    return listener_;
}

void StreamService::adopt_listener(Poco::Net::ServerSocket socket) {
    listener_ = std::move(socket);
    listener_adopted_ = true;
}

std::string StreamService::bound_address() const {
    if (config().listen.kind == ListenAddress::Kind::unix_path) return config().listen.to_string();
    return bound_.toString();
}

bool StreamService::wait_sessions(std::chrono::steady_clock::time_point deadline) {
    return sessions_.wait_empty(deadline);
}

void StreamService::close_sessions() {
    sessions_.close_all();
}

std::size_t StreamService::close_stale_sessions() {
    const std::shared_ptr<HandlerBinding> current = binding();
    return sessions_.close_not_on(current.get());
}

void StreamService::session_started(Connection &conn, const HandlerBinding &binding) {
    ++counters().accepted;
    ++counters().active;
    sessions_.add(conn, binding);
}

void StreamService::session_ended(Connection &conn) {
    // Counted down first: whoever wakes from wait_sessions sees no one active.
    --counters().active;
    sessions_.remove(conn);
}

} // namespace portico::host
