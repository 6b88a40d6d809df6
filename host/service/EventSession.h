// EventSession.h — one accepted connection of a mode events service, as the
// fiber task its loop runs: registers the socket with the loop (FiberIo)
// and runs the same session code as mode threads (run_stream_session).
#pragma once

#include "event/EventLoop.h"

#include <Poco/Net/StreamSocket.h>

namespace portico::host {

class StreamService;

class EventSession final : public FiberTask {
public:
    EventSession(StreamService &service, Poco::Net::StreamSocket socket, EventLoop &loop)
        : service_(service), socket_(std::move(socket)), loop_(loop) {}
    void run() noexcept override;

private:
    StreamService &service_;
    Poco::Net::StreamSocket socket_; // closed when the loop reaps the finished task
    EventLoop &loop_;
};

} // namespace portico::host
