// EventSession.cpp — a connection's fiber in mode events: its registration
// with the loop around the session code both stream modes share.
#include "service/EventSession.h"

#include "event/FiberIo.h"
#include "service/StreamService.h"
#include "service/StreamSession.h"

#include <Poco/Logger.h>

#include <exception>
#include <memory>

namespace portico::host {

void EventSession::run() noexcept {
    try {
        // Deregistered (at the end of this scope) before the socket closes.
        // On the heap, not this fiber's stack: the loop and notifiers call it
        // while the fiber is parked, when its stack may be compacted.
        const auto io = std::make_unique<FiberIo>(loop_, socket_.impl()->sockfd());
        run_stream_session(service_, socket_, std::move(ticket_), io.get());
    } catch (const std::exception &e) {
        // Only the host's own set-up can throw here (the handler's errors are
        // reported across the C ABI): the client is dropped, the loop goes on;
        // its admission slot is freed with the ticket, wherever it is now.
        ticket_ = {};
        service_.counters().count_refusal(RefusalReason::no_resources);
        try {
            service_.handle()->logger.error("service '%s': cannot serve a connection: %s", service_.name(),
                                            std::string(e.what()));
        } catch (...) {
        }
    }
}

} // namespace portico::host
