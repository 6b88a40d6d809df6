// EventSession.h — one accepted connection of a mode events service, as the
// fiber task its loop runs: registers the socket with the loop (FiberIo)
// and runs the same session code as mode threads (run_stream_session).
#pragma once

#include "event/EventLoop.h"
#include "service/Admission.h"

#include <Poco/Net/StreamSocket.h>

#include <utility>

namespace portico::host {

class StreamService;

class EventSession final : public FiberTask {
public:
    EventSession(StreamService &service, Poco::Net::StreamSocket socket, Admission::Ticket ticket, EventLoop &loop)
        : service_(service), socket_(std::move(socket)), ticket_(std::move(ticket)), loop_(loop) {}
    void run() noexcept override;

private:
    StreamService &service_;
    Poco::Net::StreamSocket socket_; // closed when the loop reaps the finished task
    Admission::Ticket ticket_;       // handed to the session when it runs; freed with this task if it never does
    EventLoop &loop_;
};

} // namespace portico::host
