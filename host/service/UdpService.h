// UdpService.h — a `protocol: udp` service: one datagram socket, a receive
// thread that screens each datagram (allow/deny, size, per-source rate) and
// pins the handler binding current at its arrival, and a bounded worker pool
// that runs the handler. Like socketserver's UDPServer with ThreadingMixIn,
// but with a bounded queue instead of a thread per datagram. On a unix: path
// it is UnixDatagramServer: replies go to the path each sender bound.
#pragma once

#include "net/CidrList.h"
#include "net/LogThrottle.h"
#include "service/DatagramWorkers.h"
#include "service/Service.h"
#include "service/SourceRateLimiter.h"

#include <Poco/Net/DatagramSocket.h>
#include <Poco/Net/SocketAddress.h>

#include <atomic>
#include <map>
#include <memory>
#include <mutex>
#include <string_view>
#include <thread>
#include <vector>

namespace portico::host {

class UdpService : public Service {
public:
    UdpService(ServiceConfig config, std::shared_ptr<ServiceHandle> handle, std::shared_ptr<HandlerBinding> binding);
    // Stops receiving, gives queued datagrams a moment, then drops the rest.
    ~UdpService() override;

    void start() override;
    // Ends the receive loop; datagrams already queued are still handled.
    void stop_accepting() override;
    // Waits until every queued datagram has been handled.
    bool wait_sessions(std::chrono::steady_clock::time_point deadline) override;
    // Drops the datagrams still queued (a running handler cannot be interrupted).
    void close_sessions() override;
    // Drops queued datagrams pinned to a replaced binding; returns how many.
    std::size_t close_sessions_replaced_by(std::chrono::steady_clock::time_point replaced_by) override;
    // Datagrams queued or being handled, per plugin generation they pinned.
    std::map<uint64_t, std::size_t> sessions_by_generation() override;

protected:
    // A config reload that keeps the address: this service stops receiving
    // and the successor receives from then on (datagrams in between wait in
    // the kernel's buffer); this one's queued datagrams still reply through
    // the same, shared socket.
    void before_hand_over() override { stop_accepting(); }

private:
    Poco::Net::DatagramSocket make_socket() const;
    void receive_loop();
    // Screens one received datagram and queues it; `size` is its real size,
    // which exceeds data.size() when it was truncated.
    void dispatch(std::string_view data, std::size_t size, const DatagramSender &sender);
    bool permitted(const DatagramSender &sender);
    void run_handler(DatagramJob &job);
    // The handler replied to a sender with no address: counted, logged once.
    void unaddressable_reply();
    void drop(const char *reason, const DatagramSender &sender, LogThrottle &throttle, std::string_view detail = {});

    const CidrList allow_;
    const CidrList deny_;
    const bool inet_; // false for unix:, whose senders have no IP for allow/deny and rate_limit

    // Receive thread only.
    SourceRateLimiter limiter_;
    std::vector<char> buffer_; // max_datagram + 1: one byte more reveals an oversized datagram
    LogThrottle denied_log_, oversized_log_, rate_log_, queue_log_, error_log_;

    // Declared before workers_: replies are sent from this socket, so it must
    // outlive every worker.
    Poco::Net::DatagramSocket socket_; // Service::listener(), as a datagram socket
    int wake_fd_ = -1;                 // eventfd that stop_accepting signals to end the receive loop's poll
    std::unique_ptr<DatagramWorkers> workers_;
    std::mutex stop_mutex_; // stop_accepting may come from the host and the destructor
    std::thread receiver_;
    std::atomic<bool> receiving_{false};
    std::atomic<bool> unaddressable_logged_{false};
};

} // namespace portico::host
