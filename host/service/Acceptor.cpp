// Acceptor.cpp — accept4 in batches, the spare descriptor for EMFILE, and
// admission of each accepted connection. (On Linux an accepted socket never
// inherits O_NONBLOCK from the listener: accept4's flags decide.)
#include "service/Acceptor.h"

#include "service/HandlerBinding.h"
#include "service/StreamService.h"
#include "service/VerifyRequest.h"

#include <Poco/Logger.h>
#include <Poco/Net/StreamSocketImpl.h>

#include <algorithm>
#include <cerrno>
#include <cstring>

#include <fcntl.h>
#include <sys/socket.h>
#include <unistd.h>

namespace portico::host {
namespace {

int open_spare() {
    return ::open("/dev/null", O_RDONLY | O_CLOEXEC);
}

} // namespace

Acceptor::Acceptor(StreamService &service, int listen_fd, bool nonblocking, int batch)
    : service_(service), listen_fd_(listen_fd), accept_flags_(SOCK_CLOEXEC | (nonblocking ? SOCK_NONBLOCK : 0)),
      batch_(std::clamp(batch, 1, kBatch)), spare_fd_(open_spare()) {}

Acceptor::~Acceptor() {
    if (spare_fd_ >= 0) ::close(spare_fd_);
}

Acceptor::Batch Acceptor::accept_batch() {
    Batch batch;
    for (int attempt = 0; attempt < batch_; ++attempt) {
        const int fd = ::accept4(listen_fd_, nullptr, nullptr, accept_flags_);
        if (fd >= 0) {
            batch.fds[batch.count++] = fd;
            continue;
        }
        const int error = errno;
        if (error == EINTR || error == ECONNABORTED) continue;
        if (error == EAGAIN || error == EWOULDBLOCK) break;
        if (error == EINVAL) {
            batch.closed = true; // shut down, not a fault: no error line
            break;
        }
        if (error == EMFILE || error == ENFILE) {
            // accept() fails so whether or not a client is waiting.
            const Refusal refusal = refuse_without_descriptors(error);
            if (refusal == Refusal::refused) continue;
            batch.pause = refusal == Refusal::no_spare;
            break;
        }
        log_error("accept failed: " + std::string(std::strerror(error)));
        break;
    }
    return batch;
}

void Acceptor::admit(int fd, AcceptSink &sink) {
    // Poco's contract: the socket takes ownership of the impl (and the fd).
    std::optional<Poco::Net::StreamSocket> socket(std::in_place, new Poco::Net::StreamSocketImpl(fd));
    Admission::Ticket ticket = service_.admission().admit(*socket, sink.queued(), sink.busy());
    if (!ticket) return;            // refused, counted and logged; closed with `socket`
    if (!verified(*socket)) return; // the ticket frees its slot, `socket` closes
    try {
        sink.serve(socket, std::move(ticket));
    } catch (const std::exception &e) {
        // No memory for a fiber's stack, no thread for Poco's queue: refused
        // like any other overload (the ticket, wherever it got to, is gone).
        service_.counters().count_refusal(RefusalReason::no_resources);
        log_error(std::string("refused a connection: cannot start its session: ") + e.what());
    }
}

bool Acceptor::verified(const Poco::Net::StreamSocket &socket) {
    // Behind a load balancer the handler judges the client its header names:
    // asked by the PROXY stage (ProxyStage.cpp), not here.
    if (service_.config().proxy_protocol != ProxyProtocol::off) return true;
    const std::shared_ptr<HandlerBinding> binding = service_.binding();
    if (!binding->verifies_requests()) return true;
    std::string peer, local;
    try {
        peer = socket.peerAddress().toString();
        local = socket.address().toString();
    } catch (const Poco::Exception &) {
        return false; // already gone: nothing to serve, nothing to tell
    }
    return verify_request(service_, *binding, socket, peer, local);
}

Acceptor::Refusal Acceptor::refuse_without_descriptors(int error) {
    std::lock_guard lock(mutex_);
    if (spare_fd_ < 0) spare_fd_ = open_spare(); // one may have come free
    if (spare_fd_ < 0) return Refusal::no_spare;
    ::close(spare_fd_);
    const int fd = ::accept4(listen_fd_, nullptr, nullptr, SOCK_CLOEXEC);
    if (fd < 0) {
        spare_fd_ = open_spare();
        return Refusal::none_waiting;
    }
    const std::string &busy = service_.config().busy_message;
    if (!busy.empty()) ::send(fd, busy.data(), busy.size(), MSG_DONTWAIT | MSG_NOSIGNAL);
    ::close(fd);
    spare_fd_ = open_spare();
    service_.counters().count_refusal(RefusalReason::no_resources);
    uint64_t suppressed = 0;
    if (errors_.allow(std::chrono::steady_clock::now(), &suppressed))
        service_.handle()->logger.error(
            "service '%s': refused a connection: out of file descriptors (%s); raise the limit "
            "(ulimit -n, LimitNOFILE=) or lower max_connections (%Lu similar lines suppressed)",
            service_.name(), std::string(std::strerror(error)), static_cast<Poco::UInt64>(suppressed));
    return Refusal::refused;
}

void Acceptor::log_error(const std::string &what) {
    std::lock_guard lock(mutex_);
    uint64_t suppressed = 0;
    if (errors_.allow(std::chrono::steady_clock::now(), &suppressed))
        service_.handle()->logger.error("service '%s': %s (%Lu similar lines suppressed)", service_.name(), what,
                                        static_cast<Poco::UInt64>(suppressed));
}

} // namespace portico::host
