// Admission.cpp — the admission checks, and the slots their tickets hold.
#include "service/Admission.h"

#include <utility>

#include <sys/socket.h>

namespace portico::host {

Admission::Ticket::Ticket(Ticket &&other) noexcept
    : admission_(std::exchange(other.admission_, nullptr)), slot_(other.slot_) {}

Admission::Ticket &Admission::Ticket::operator=(Ticket &&other) noexcept {
    if (this != &other) {
        release();
        admission_ = std::exchange(other.admission_, nullptr);
        slot_ = other.slot_;
    }
    return *this;
}

Admission::Ticket::~Ticket() {
    release();
}

void Admission::Ticket::release() {
    if (admission_ == nullptr) return;
    std::exchange(admission_, nullptr)->release(slot_);
}

bool Admission::Ticket::start() {
    if (admission_ == nullptr) return true;
    std::lock_guard lock(admission_->mutex_);
    slot_->queued = false;
    return !slot_->expired;
}

void Admission::Ticket::serving() {
    // Only --once asks; every other connection skips the lock.
    if (admission_ == nullptr || !admission_->config_.once) return;
    std::lock_guard lock(admission_->mutex_);
    slot_->serving = true;
}

namespace {
// A plugin's refusal message for a log line: trailing line breaks dropped,
// others shown as spaces.
std::string one_line(std::string text) {
    while (!text.empty() && (text.back() == '\n' || text.back() == '\r'))
        text.pop_back();
    for (char &c : text)
        if (c == '\n' || c == '\r') c = ' ';
    return text;
}
} // namespace

Admission::Admission(const ServiceConfig &config, ServiceCounters &counters, Poco::Logger &logger)
    : config_(config), counters_(counters), logger_(logger), allow_(config.allow), deny_(config.deny),
      proxy_from_(config.proxy_from), rate_(config.accept_rate) {}

Admission::Ticket Admission::admit(const Poco::Net::StreamSocket &socket, int queued, bool busy) {
    const bool inet = config_.listen.kind == ListenAddress::Kind::inet;
    // Behind a load balancer the peer is the proxy: the checks about the
    // client wait for its header (admit_client), only proxy_from is for the peer.
    const bool proxied = config_.proxy_protocol != ProxyProtocol::off;
    Poco::Net::IPAddress ip;
    std::string peer = "local peer";
    if (inet) {
        try {
            const Poco::Net::SocketAddress address = socket.peerAddress();
            ip = address.host();
            peer = address.toString();
        } catch (const Poco::Exception &) {
            return {}; // already gone: nothing to serve, nothing to tell
        }
        if (proxied) {
            if (!proxy_from_.empty() && !proxy_from_.contains(ip)) {
                refuse(socket, peer, "not a proxy listed in proxy_from (proxy_protocol is on)",
                       RefusalReason::proxy_from);
                return {};
            }
        } else if (!client_allowed(socket, ip, peer)) {
            return {};
        }
    }
    const bool per_source = inet && !proxied;
    const std::string source = per_source ? ip.toString() : std::string();
    std::lock_guard lock(mutex_);
    if (static_cast<int>(slots_.size()) >= config_.max_connections) {
        refuse(socket, peer, "max_connections reached", RefusalReason::max_connections);
        return {};
    }
    if (busy && queued >= config_.max_queued) {
        refuse(socket, peer, "every worker is busy and max_queued connections wait", RefusalReason::queue_full);
        return {};
    }
    if (per_source && config_.per_source_max > 0 && per_source_[source] >= config_.per_source_max) {
        refuse(socket, peer, "per_source_max reached for this source", RefusalReason::per_source_max);
        return {};
    }
    // After the other checks: only a connection that is served takes the one slot.
    if (config_.once && took_once_) {
        refuse(socket, peer, "portico --once: this service has taken its one connection", RefusalReason::once);
        return {};
    }
    // Behind a proxy the peer is the load balancer: per source counts only in admit_client.
    const std::string key = per_source ? std::string(static_cast<const char *>(ip.addr()), ip.length()) : std::string();
    if (shared_ && !shared_admit(socket, peer, key)) return {};
    took_once_ = true;
    if (per_source) take_source(source);
    slots_.push_front(Slot{Clock::now(), socket.impl()->sockfd(), source, key, shared_ != nullptr});
    return Ticket(*this, slots_.begin());
}

bool Admission::admit_client(Ticket &ticket, const Poco::Net::StreamSocket &socket,
                             const Poco::Net::SocketAddress &client, const std::string &proxy) {
    const std::string peer = proxy.empty() ? client.toString() : client.toString() + " (via proxy " + proxy + ")";
    if (!client_allowed(socket, client.host(), peer)) return false;
    const std::string source = client.host().toString();
    std::lock_guard lock(mutex_);
    if (ticket.admission_ != this) return false;
    if (!take_source(source)) {
        refuse(socket, peer, "per_source_max reached for this source", RefusalReason::per_source_max);
        return false;
    }
    ticket.slot_->source = source;
    return true;
}

void Admission::refuse_header(const Poco::Net::StreamSocket &socket, const std::string &peer,
                              const std::string &reason) {
    refuse(socket, peer, reason.c_str(), RefusalReason::proxy_header);
}

bool Admission::client_allowed(const Poco::Net::StreamSocket &socket, const Poco::Net::IPAddress &ip,
                               const std::string &peer) {
    if (!deny_.empty() && deny_.contains(ip)) {
        refuse(socket, peer, "source is in the deny list", RefusalReason::allow_deny);
        return false;
    }
    if (!allow_.empty() && !allow_.contains(ip)) {
        refuse(socket, peer, "source is not in the allow list", RefusalReason::allow_deny);
        return false;
    }
    if (!rate_allows(ip)) {
        refuse(socket, peer, "source exceeds accept_rate", RefusalReason::accept_rate);
        return false;
    }
    return true;
}

bool Admission::take_source(const std::string &source) {
    if (config_.per_source_max > 0 && per_source_[source] >= config_.per_source_max) return false;
    ++per_source_[source];
    return true;
}

bool Admission::shared_admit(const Poco::Net::StreamSocket &socket, const std::string &peer, const std::string &key) {
    switch (shared_->admit(key)) {
    case SharedAdmission::Verdict::admitted:
        return true;
    case SharedAdmission::Verdict::max_connections:
        refuse(socket, peer, "max_connections reached (counting every worker)", RefusalReason::max_connections);
        return false;
    case SharedAdmission::Verdict::per_source_max:
        refuse(socket, peer, "per_source_max reached for this source (counting every worker)",
               RefusalReason::per_source_max);
        return false;
    case SharedAdmission::Verdict::sources_full:
        if (shared_->first_full_report())
            logger_.error("service '%s': the shared per-source table is full (more distinct sources connected or "
                          "rate-limited at once than it holds); new sources are refused until some go quiet",
                          config_.name);
        refuse(socket, peer, "too many distinct sources at once for per_source_max", RefusalReason::per_source_max);
        return false;
    }
    return false;
}

bool Admission::rate_allows(const Poco::Net::IPAddress &ip) {
    if (!rate_.enabled()) return true;
    if (shared_)
        return shared_->take_token(std::string(static_cast<const char *>(ip.addr()), ip.length()), Clock::now());
    std::lock_guard lock(mutex_);
    return rate_.allow(ip, Clock::now());
}

void Admission::release(std::list<Slot>::iterator slot) {
    std::lock_guard lock(mutex_);
    if (!slot->source.empty()) {
        const auto src = per_source_.find(slot->source);
        if (src != per_source_.end() && --src->second <= 0) per_source_.erase(src);
    }
    if (slot->shared) shared_->release(slot->key);
    // --once: a connection refused after admission (verify_request, a bad
    // PROXY header) was not the one to serve; the next one may be.
    if (config_.once && !slot->serving) took_once_ = false;
    slots_.erase(slot);
}

std::size_t Admission::admitted() {
    std::lock_guard lock(mutex_);
    return slots_.size();
}

void Admission::expire_queued(Clock::time_point now) {
    std::lock_guard lock(mutex_);
    for (Slot &slot : slots_) {
        if (!slot.queued || slot.expired || now - slot.at < config_.queue_timeout) continue;
        slot.expired = true;
        counters_.count_refusal(RefusalReason::queue_timeout);
        if (!config_.busy_message.empty())
            ::send(slot.fd, config_.busy_message.data(), config_.busy_message.size(), MSG_DONTWAIT | MSG_NOSIGNAL);
        // The ticket holder (Poco's queue, via ThreadsService) still owns the
        // socket: shutdown tells the client now, the worker closes it later.
        ::shutdown(slot.fd, SHUT_RDWR);
        logger_.warning("service '%s': refused a connection from %s that waited %s in the queue (queue_timeout); "
                        "raise threads.max or lower the load",
                        config_.name, slot.source.empty() ? std::string("local peer") : slot.source,
                        std::to_string(config_.queue_timeout.count()) + "ms");
    }
}

void Admission::refuse_by_handler(const Poco::Net::StreamSocket &socket, const std::string &peer,
                                  const std::string &message) {
    refuse(socket, peer, "the handler's verify_request refused it", RefusalReason::verify_request, &message);
}

void Admission::refuse(const Poco::Net::StreamSocket &socket, const std::string &peer, const char *reason,
                       RefusalReason why, const std::string *message) {
    counters_.count_refusal(why);
    const uint64_t refused = counters_.refused.load(std::memory_order_relaxed);
    const std::string &text = message != nullptr && !message->empty() ? *message : config_.busy_message;
    if (!text.empty()) ::send(socket.impl()->sockfd(), text.data(), text.size(), MSG_DONTWAIT | MSG_NOSIGNAL);
    uint64_t suppressed = 0;
    bool log = false;
    {
        std::lock_guard lock(throttle_mutex_);
        log = throttle_.allow(Clock::now(), &suppressed);
    }
    if (log)
        logger_.warning("service '%s': refused %s: %s%s (%Lu refused in all; %Lu similar lines suppressed)",
                        config_.name, peer, std::string(reason),
                        message != nullptr && !message->empty() ? " (told: \"" + one_line(*message) + "\")"
                                                                : std::string(),
                        static_cast<Poco::UInt64>(refused), static_cast<Poco::UInt64>(suppressed));
}

} // namespace portico::host
