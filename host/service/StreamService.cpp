// StreamService.cpp — limits, TLS context and session table shared by the
// stream service kinds.
#include "service/StreamService.h"

#include <stdexcept>

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

void StreamService::stop_and_close_sessions() {
    stop_accepting();
    close_sessions();
    wait_sessions(std::chrono::steady_clock::now() + std::chrono::seconds(5));
}

bool StreamService::wait_sessions(std::chrono::steady_clock::time_point deadline) {
    return sessions_.wait_empty(deadline);
}

void StreamService::close_sessions() {
    sessions_.close_all();
}

std::size_t StreamService::close_sessions_replaced_by(std::chrono::steady_clock::time_point replaced_by) {
    return sessions_.close_replaced_by(replaced_by);
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
