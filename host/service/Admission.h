// Admission.h — who may open a connection to a TCP service, decided on the
// accept thread (mode events: the accepting loop) before a worker or fiber is
// involved (socketserver's verify_request):
// deny/allow lists, per-source connection cap and accept rate,
// max_connections and a full queue. A refusal is never silent: it is
// counted, logged (throttled) with the peer and the reason, and the client
// gets the optional busy_message line before the socket closes.
// Also tracks when each admitted connection was accepted, so one that waits
// in the queue longer than queue_timeout is refused instead of starving.
#pragma once

#include "config/Config.h"
#include "net/CidrList.h"
#include "net/LogThrottle.h"
#include "service/ServiceCounters.h"
#include "service/SourceRateLimiter.h"

#include <Poco/Logger.h>
#include <Poco/Net/StreamSocket.h>

#include <chrono>
#include <functional>
#include <map>
#include <mutex>
#include <string>
#include <unordered_map>

namespace portico::host {

class Admission {
public:
    using Clock = std::chrono::steady_clock;

    Admission(const ServiceConfig &config, ServiceCounters &counters, Poco::Logger &logger);

    // On the accept thread. `queued` is how many admitted connections still
    // wait for a worker and `busy` whether every worker is taken. Returns
    // true to admit; on false the caller closes the socket.
    bool admit(const Poco::Net::StreamSocket &socket, int queued, bool busy);
    // A worker picked the connection up. False when it waited past
    // queue_timeout and was already refused: the session must not run.
    bool start(const Poco::Net::StreamSocket &socket);
    // The session has ended (or never ran): frees its per-source slot.
    void finish(const Poco::Net::StreamSocket &socket);
    // Refuses (busy_message, shutdown) connections queued longer than
    // queue_timeout. Called periodically by the service.
    void expire_queued(Clock::time_point now);
    // The service stopped: queued sockets are about to be closed by Poco.
    void clear();

private:
    struct Admitted {
        Clock::time_point at;
        std::string source;
        bool queued = true; // no worker has picked it up yet
        bool expired = false;
    };

    // Takes a token of accept_rate for `ip` (under mutex_).
    bool rate_allows(const Poco::Net::IPAddress &ip);
    // May run with mutex_ held or not (admit() refuses under it).
    void refuse(const Poco::Net::StreamSocket &socket, const std::string &peer, const char *reason);
    void release_locked(int fd);

    const ServiceConfig &config_;
    ServiceCounters &counters_;
    Poco::Logger &logger_;
    const CidrList allow_;
    const CidrList deny_;
    // Mode threads admits on Poco's one accept thread, mode events on every
    // event loop at once: all of this is shared.
    SourceRateLimiter rate_; // under mutex_
    std::mutex throttle_mutex_;
    LogThrottle throttle_; // under throttle_mutex_ (refuse() runs inside and outside mutex_)

    std::mutex mutex_;                                // guards what workers, loops and the expiry timer touch
    std::map<int, Admitted> admitted_;                // by socket fd: open until finish()
    std::unordered_map<std::string, int> per_source_; // open connections per source address
};

} // namespace portico::host
