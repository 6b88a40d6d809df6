// Acceptor.h — the one accept path of both in-process stream modes: takes
// connections off the listening socket in bounded batches (accept4,
// non-blocking, close-on-exec), refuses a waiting client by way of a spare
// descriptor when the process has none left, asks Admission about each
// connection, then the handler's verify_request (if it has one), and hands
// the admitted ones, each with its ticket, to the
// mode's sink: a fiber of the accepting loop (EventService), or Poco's
// dispatcher queue (ThreadsService).
#pragma once

#include "net/LogThrottle.h"
#include "service/Admission.h"

#include <Poco/Net/StreamSocket.h>

#include <optional>

#include <mutex>
#include <string>

namespace portico::host {

class StreamService;

// Where admitted connections go, and what Admission needs to know of it.
class AcceptSink {
public:
    virtual ~AcceptSink() = default;
    // Admitted connections still waiting for a worker, and whether every
    // worker is taken (max_queued applies only then). Mode events: 0, false.
    virtual int queued() const { return 0; }
    virtual bool busy() const { return false; }
    // Serves (or queues) the connection; the ticket frees its slot wherever
    // the connection ends. Takes `socket`, leaving it empty: Poco's sockets
    // copy but never move, and a copy left on the accept thread could be
    // the last, freeing the socket after a worker used it, ordered only by
    // Poco's reference count, which ThreadSanitizer cannot see (Debian's
    // Poco is not built with it). The sink drops it where its threads sync.
    virtual void serve(std::optional<Poco::Net::StreamSocket> &socket, Admission::Ticket ticket) = 0;
};

class Acceptor {
public:
    // Connections taken per readiness of the listener before the caller
    // goes back to its other work: a connect storm cannot starve it.
    static constexpr int kBatch = 64;

    struct Batch {
        int fds[kBatch];
        int count = 0;
        // Out of descriptors with no spare to refuse a client with: the
        // caller leaves the listener alone for a moment instead of spinning
        // on a socket that stays readable.
        bool pause = false;
        // The socket listens no more (EINVAL): in a process-mode worker, the
        // master shut it down at stop. The caller stops accepting from it.
        bool closed = false;
    };

    // `listen_fd`: the service's listening socket, non-blocking.
    // `nonblocking`: accepted sockets are non-blocking (mode events, whose
    // waits are the loop's), or blocking (mode threads: a Connection there
    // blocks in recv/send, bounded by SO_RCVTIMEO/SO_SNDTIMEO).
    // `batch`: connections taken per call, at most kBatch. A socket shared
    // with other processes (the workers of mode process) takes one at a
    // time, like nginx's `multi_accept off`: the first worker to wake would
    // otherwise take every waiting connection and the others none.
    Acceptor(StreamService &service, int listen_fd, bool nonblocking, int batch = kBatch);
    ~Acceptor();
    Acceptor(const Acceptor &) = delete;
    Acceptor &operator=(const Acceptor &) = delete;

    // Accepts what waits now, up to `batch` attempts (refusals and retries
    // count). Safe from several threads at once (the loops of mode events).
    Batch accept_batch();
    // Admission for one accepted descriptor (the socket owns it from here):
    // to `sink` with its ticket, or refused (counted, logged, busy_message)
    // and closed.
    void admit(int fd, AcceptSink &sink);
    // A failure to report, throttled across every thread of the service.
    void log_error(const std::string &what);

private:
    // accept() failed with EMFILE/ENFILE: refuses one waiting connection
    // with the spare descriptor. False when there was none to refuse, or no
    // spare.
    enum class Refusal { refused, none_waiting, no_spare };
    // The handler's verify_request, after the config's limits let the
    // connection in: false when it refused (counted, logged, told).
    bool verified(const Poco::Net::StreamSocket &socket);
    Refusal refuse_without_descriptors(int error);

    StreamService &service_;
    const int listen_fd_;
    const int accept_flags_; // for accept4
    const int batch_;        // 1..kBatch
    std::mutex mutex_;       // the spare and the throttle, shared by every accepting thread
    int spare_fd_ = -1;
    LogThrottle errors_;
};

} // namespace portico::host
