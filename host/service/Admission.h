// Admission.h — who may open a connection to a TCP service, decided on the
// accept thread (mode events: the accepting loop) before a worker or fiber is
// involved (socketserver's verify_request):
// deny/allow lists, per-source connection cap and accept rate,
// max_connections and a full queue. A refusal is never silent: it is
// counted, logged (throttled) with the peer and the reason, and the client
// gets the optional busy_message line before the socket closes.
// An admitted connection holds a Ticket, its slot, until the ticket is
// destroyed; one that waits for a worker longer than queue_timeout is
// refused instead of starving. In a `mode: process` worker the limits are
// also checked against the service-wide counts in SharedAdmission.
#pragma once

#include "config/Config.h"
#include "net/CidrList.h"
#include "net/LogThrottle.h"
#include "service/ServiceCounters.h"
#include "service/SharedAdmission.h"
#include "service/SourceRateLimiter.h"

#include <Poco/Logger.h>
#include <Poco/Net/StreamSocket.h>

#include <chrono>
#include <list>
#include <mutex>
#include <string>
#include <unordered_map>

namespace portico::host {

class Admission {
    struct Slot;

public:
    using Clock = std::chrono::steady_clock;

    // One admitted connection's place in max_connections and per_source_max:
    // it travels with the socket (to the fiber, the worker) and frees its
    // slot when destroyed, however the session ends or never starts. Empty
    // (false) when the connection was refused. The Admission must outlive it.
    class Ticket {
    public:
        Ticket() = default;
        Ticket(Ticket &&other) noexcept;
        Ticket &operator=(Ticket &&other) noexcept;
        ~Ticket();
        Ticket(const Ticket &) = delete;
        Ticket &operator=(const Ticket &) = delete;

        explicit operator bool() const { return admission_ != nullptr; }
        // A worker (fiber) picked the connection up. False when it waited
        // past queue_timeout and was already refused: the session must not
        // run. True for an empty ticket (nothing to expire).
        bool start();
        // Past every check (the PROXY header, verify_request): the handler
        // will run. Under --once only such a ticket uses up the service's
        // one connection; a later refusal gives it back.
        void serving();

    private:
        friend class Admission;
        Ticket(Admission &admission, std::list<Slot>::iterator slot) : admission_(&admission), slot_(slot) {}
        void release();

        Admission *admission_ = nullptr;
        std::list<Slot>::iterator slot_{}; // value-initialized: copied even when empty
    };

    Admission(const ServiceConfig &config, ServiceCounters &counters, Poco::Logger &logger);

    // On the accept thread. `queued` is how many admitted connections still
    // wait for a worker and `busy` whether every worker is taken. Returns the
    // connection's ticket, or an empty one when it was refused (counted,
    // logged, busy_message sent): the caller then closes the socket.
    // With proxy_protocol on, the peer is a load balancer: admit() checks
    // only proxy_from and the service-wide limits, and the session calls
    // admit_client once the header named the client.
    Ticket admit(const Poco::Net::StreamSocket &socket, int queued, bool busy);
    // PROXY protocol, on the session's thread or fiber after the header:
    // deny/allow, accept_rate and per_source_max for `client`, which the
    // ticket's slot is then counted under. False when refused (counted,
    // logged naming the client and `proxy`): the session must not run.
    bool admit_client(Ticket &ticket, const Poco::Net::StreamSocket &socket, const Poco::Net::SocketAddress &client,
                      const std::string &proxy);
    // PROXY protocol: the header was missing, invalid, truncated or late.
    void refuse_header(const Poco::Net::StreamSocket &socket, const std::string &peer, const std::string &reason);
    // A connection the handler's verify_request refused after admit() let it
    // in: counted (reason verify_request) and logged like the config's
    // refusals; `message`, when not empty, is sent instead of busy_message.
    // The caller drops its ticket and closes the socket.
    void refuse_by_handler(const Poco::Net::StreamSocket &socket, const std::string &peer, const std::string &message);
    // Refuses (busy_message, shutdown) connections queued longer than
    // queue_timeout. Called periodically by the service.
    void expire_queued(Clock::time_point now);
    // Connections holding a ticket now.
    std::size_t admitted();
    // A process-mode worker: max_connections, per_source_max and accept_rate
    // count every worker's connections, through `shared`, which must outlive
    // this Admission. Called before the first admit().
    void use_shared(SharedAdmission &shared) { shared_ = &shared; }

private:
    struct Slot {
        Clock::time_point at;
        int fd;              // to refuse it at queue_timeout while it waits
        std::string source;  // "" for a unix: peer
        std::string key;     // the source's address bytes, for shared_ ("" for a unix: peer)
        bool shared = false; // counted in shared_
        bool queued = true;  // no worker has picked it up yet
        bool expired = false;
        bool serving = false; // reached the handler (Ticket::serving)
    };

    // deny/allow and accept_rate for a client; refuses (as `peer`) when it fails.
    bool client_allowed(const Poco::Net::StreamSocket &socket, const Poco::Net::IPAddress &ip, const std::string &peer);
    // Counts one more connection of `source` unless per_source_max is reached (under mutex_).
    bool take_source(const std::string &source);
    // Takes a token of accept_rate for `ip` (under mutex_).
    bool rate_allows(const Poco::Net::IPAddress &ip);
    // Counts the connection in shared_ (under mutex_); false when refused.
    bool shared_admit(const Poco::Net::StreamSocket &socket, const std::string &peer, const std::string &key);
    // May run with mutex_ held or not (admit() refuses under it).
    void refuse(const Poco::Net::StreamSocket &socket, const std::string &peer, const char *reason, RefusalReason why,
                const std::string *message = nullptr);
    void release(std::list<Slot>::iterator slot);

    const ServiceConfig &config_;
    bool took_once_ = false; // under mutex_: portico --once admitted its one connection
    ServiceCounters &counters_;
    Poco::Logger &logger_;
    const CidrList allow_;
    const CidrList deny_;
    const CidrList proxy_from_;
    // Mode threads admits on Poco's one accept thread, mode events on every
    // event loop at once: all of this is shared.
    SourceRateLimiter rate_; // under mutex_
    std::mutex throttle_mutex_;
    LogThrottle throttle_; // under throttle_mutex_ (refuse() runs inside and outside mutex_)

    std::mutex mutex_;                                // guards what workers, loops and the expiry timer touch
    std::list<Slot> slots_;                           // one per live Ticket (stable iterators)
    std::unordered_map<std::string, int> per_source_; // open connections per source address
    SharedAdmission *shared_ = nullptr;               // process mode: the service-wide counts
};

} // namespace portico::host
