// ThreadsService.h — a `protocol: tcp` service in mode threads or single: a
// worker thread per open connection from the service's own Poco ThreadPool,
// run by the engine of Poco's TCPServer (its TCPServerDispatcher: the queue,
// the pool's threads, a connection object per socket) and fed by the
// Acceptor on an accept thread of its own, the accept path mode events uses
// too. Each worker runs the stream session (StreamSession.h) with the ticket
// Admission gave its connection.
#pragma once

#include "service/Acceptor.h"
#include "service/PeriodicThread.h"
#include "service/StreamService.h"

#include <Poco/ThreadPool.h>

#include <memory>
#include <mutex>
#include <thread>

namespace portico::host {

class ThreadsService : public StreamService {
public:
    ThreadsService(ServiceConfig config, std::shared_ptr<ServiceHandle> handle,
                   std::shared_ptr<HandlerBinding> binding);
    // Stops accepting and closes any session still open.
    ~ThreadsService() override;

    void start() override;
    // Ends the accept thread. Connections still waiting in the queue are
    // dropped, unless the listener was handed to a successor: then this
    // service's workers serve them (they were accepted before the swap).
    void stop_accepting() override;
    // Sessions running, and connections queued or taken by a worker but not
    // registered yet, count as open.
    bool wait_sessions(std::chrono::steady_clock::time_point deadline) override;

private:
    // The adapter from the Acceptor to Poco's dispatcher (ThreadsService.cpp).
    class PocoQueue;

    void accept_loop();

    // Declared before queue_: the pool's threads run the queue's dispatcher.
    std::unique_ptr<Poco::ThreadPool> pool_;
    std::unique_ptr<PocoQueue> queue_;
    std::unique_ptr<Acceptor> acceptor_;
    int wake_fd_ = -1; // eventfd: stop_accepting() ends the accept thread's poll
    std::mutex stop_mutex_;
    std::thread accept_thread_;
    PeriodicThread housekeeping_; // expires connections queued past queue_timeout
};

} // namespace portico::host
