// ThreadsService.h — a `protocol: tcp` service in mode threads or single:
// its listening socket served by its own Poco::Net::TCPServer and
// ThreadPool, a worker thread per open connection, each running the stream
// session (StreamSession.h) with the ticket Admission gave its connection.
#pragma once

#include "service/PeriodicThread.h"
#include "service/StreamService.h"

#include <Poco/Net/TCPServer.h>
#include <Poco/ThreadPool.h>

#include <atomic>
#include <memory>
#include <mutex>
#include <unordered_map>

namespace portico::host {

class ThreadsService : public StreamService {
public:
    ThreadsService(ServiceConfig config, std::shared_ptr<ServiceHandle> handle,
                   std::shared_ptr<HandlerBinding> binding);
    // Stops accepting and closes any session still open.
    ~ThreadsService() override;

    void start() override;
    void stop_accepting() override;
    bool wait_sessions(std::chrono::steady_clock::time_point deadline) override;

    // Called by Poco's accept thread for each new connection: Admission
    // decides; true hands it to Poco's queue, its ticket parked until a
    // worker claims it. While this service hands its listener over, admitted
    // connections run on the pool directly instead.
    bool admit(const Poco::Net::StreamSocket &socket);
    // On the worker that took `socket` from Poco's queue: the ticket admit()
    // parked for it (empty if stop_accepting() dropped it meanwhile).
    Admission::Ticket claim_ticket(const Poco::Net::StreamSocket &socket);

private:
    // Declared before server_: the server must stop before its pool goes.
    std::unique_ptr<Poco::ThreadPool> pool_;
    std::unique_ptr<Poco::Net::TCPServer> server_;
    std::atomic<bool> handing_over_{false};     // admit() bypasses Poco's queue
    std::atomic<uint64_t> queue_admissions_{0}; // admit() calls that sent a connection to Poco's queue
    std::atomic<int> direct_sessions_{0};       // sessions admit() gave the pool directly, not yet ended
    int max_threads_ = 1;
    // Poco's queue carries only the socket: the tickets of the connections
    // in it wait here, by descriptor, for the worker that takes each.
    std::mutex parked_mutex_;
    std::unordered_map<int, Admission::Ticket> parked_;

    PeriodicThread housekeeping_; // expires connections queued past queue_timeout
};

} // namespace portico::host
