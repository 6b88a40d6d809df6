// Admission.cpp
#include "service/Admission.h"

#include <sys/socket.h>

namespace portico::host {

Admission::Admission(const ServiceConfig &config, ServiceCounters &counters, Poco::Logger &logger)
    : config_(config), counters_(counters), logger_(logger), allow_(config.allow), deny_(config.deny),
      rate_(config.accept_rate) {}

bool Admission::admit(const Poco::Net::StreamSocket &socket, int queued, bool busy) {
    const bool inet = config_.listen.kind == ListenAddress::Kind::inet;
    Poco::Net::IPAddress ip;
    std::string peer = "local peer";
    if (inet) {
        try {
            const Poco::Net::SocketAddress address = socket.peerAddress();
            ip = address.host();
            peer = address.toString();
        } catch (const Poco::Exception &) {
            return false; // already gone: nothing to serve, nothing to tell
        }
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
    }
    const std::string source = inet ? ip.toString() : std::string();
    std::lock_guard lock(mutex_);
    if (static_cast<int>(admitted_.size()) >= config_.max_connections) {
        refuse(socket, peer, "max_connections reached", RefusalReason::max_connections);
        return false;
    }
    if (busy && queued >= config_.max_queued) {
        refuse(socket, peer, "every worker is busy and max_queued connections wait", RefusalReason::queue_full);
        return false;
    }
    if (inet && config_.per_source_max > 0 && per_source_[source] >= config_.per_source_max) {
        refuse(socket, peer, "per_source_max reached for this source", RefusalReason::per_source_max);
        return false;
    }
    if (inet) ++per_source_[source];
    admitted_[socket.impl()->sockfd()] = Admitted{Clock::now(), source};
    return true;
}

bool Admission::rate_allows(const Poco::Net::IPAddress &ip) {
    if (!rate_.enabled()) return true;
    std::lock_guard lock(mutex_);
    return rate_.allow(ip, Clock::now());
}

bool Admission::start(const Poco::Net::StreamSocket &socket) {
    std::lock_guard lock(mutex_);
    const auto it = admitted_.find(socket.impl()->sockfd());
    if (it == admitted_.end()) return true; // admitted before a reload handed the listener over
    it->second.queued = false;
    return !it->second.expired;
}

void Admission::finish(const Poco::Net::StreamSocket &socket) {
    std::lock_guard lock(mutex_);
    release_locked(socket.impl()->sockfd());
}

void Admission::release_locked(int fd) {
    const auto it = admitted_.find(fd);
    if (it == admitted_.end()) return;
    if (!it->second.source.empty()) {
        const auto src = per_source_.find(it->second.source);
        if (src != per_source_.end() && --src->second <= 0) per_source_.erase(src);
    }
    admitted_.erase(it);
}

void Admission::expire_queued(Clock::time_point now) {
    std::lock_guard lock(mutex_);
    for (auto &[fd, entry] : admitted_) {
        if (!entry.queued || entry.expired || now - entry.at < config_.queue_timeout) continue;
        entry.expired = true;
        counters_.count_refusal(RefusalReason::queue_timeout);
        if (!config_.busy_message.empty())
            ::send(fd, config_.busy_message.data(), config_.busy_message.size(), MSG_DONTWAIT | MSG_NOSIGNAL);
        // Poco still owns the socket (it sits in the dispatcher's queue);
        // shutdown tells the client now, the worker closes it later.
        ::shutdown(fd, SHUT_RDWR);
        logger_.warning("service '%s': refused a connection from %s that waited %s in the queue (queue_timeout); "
                        "raise threads.max or lower the load",
                        config_.name, entry.source.empty() ? std::string("local peer") : entry.source,
                        std::to_string(config_.queue_timeout.count()) + "ms");
    }
}

void Admission::clear() {
    std::lock_guard lock(mutex_);
    admitted_.clear();
    per_source_.clear();
}

void Admission::refuse(const Poco::Net::StreamSocket &socket, const std::string &peer, const char *reason,
                       RefusalReason why) {
    counters_.count_refusal(why);
    const uint64_t refused = counters_.refused.load(std::memory_order_relaxed);
    if (!config_.busy_message.empty())
        ::send(socket.impl()->sockfd(), config_.busy_message.data(), config_.busy_message.size(),
               MSG_DONTWAIT | MSG_NOSIGNAL);
    uint64_t suppressed = 0;
    bool log = false;
    {
        std::lock_guard lock(throttle_mutex_);
        log = throttle_.allow(Clock::now(), &suppressed);
    }
    if (log)
        logger_.warning("service '%s': refused %s: %s (%Lu refused in all; %Lu similar lines suppressed)", config_.name,
                        peer, std::string(reason), static_cast<Poco::UInt64>(refused),
                        static_cast<Poco::UInt64>(suppressed));
}

} // namespace portico::host
