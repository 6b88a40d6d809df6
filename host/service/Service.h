// Service.h — one entry of the YAML's `services:`: a listener with its own
// limits, serving connections (TCP) or datagrams (UDP) with the handler
// binding that is current when each one arrives. The base owns the
// listening socket (bound, adopted or handed over); ThreadsService,
// EventService, ProcessService and UdpService serve it; the Host sees only
// this interface. A "session" is one run of the handler: a connection (TCP,
// every mode; mode process counts its workers) or one datagram (UDP), from
// when it is accepted (or queued) until its handler returns.
#pragma once

#include "config/Config.h"
#include "net/ServiceHandle.h"
#include "service/CounterSnapshot.h"
#include "service/HandlerBinding.h"
#include "service/ServiceCounters.h"

#include <Poco/Net/ServerSocket.h>
#include <Poco/Net/Socket.h>
#include <Poco/Net/SocketAddress.h>

#include <atomic>
#include <chrono>
#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <mutex>
#include <string>
#include <utility>
#include <vector>

namespace portico::host {

class Service {
public:
    virtual ~Service() = default;
    Service(const Service &) = delete;
    Service &operator=(const Service &) = delete;

    // Binds (or takes the adopted socket) and starts serving; throws
    // std::runtime_error naming the service and its address (with the config
    // position) when it cannot bind.
    virtual void start() = 0;
    // Stops taking new connections/datagrams; open sessions go on. Idempotent.
    virtual void stop_accepting() = 0;
    // Waits until no session is open or the deadline passes; true if none left.
    virtual bool wait_sessions(std::chrono::steady_clock::time_point deadline) = 0;
    // Ends every open session now (their blocked reads return "stopping").
    virtual void close_sessions() = 0;
    // Ends the sessions still running on a binding replaced at or before
    // `replaced_by` (drain_timeout after that plugin reload): sessions on a
    // version replaced later keep their own drain_timeout. Returns how many
    // it closed.
    virtual std::size_t close_sessions_replaced_by(std::chrono::steady_clock::time_point replaced_by) = 0;
    // Open sessions per plugin generation they pinned, for drain status.
    virtual std::map<uint64_t, std::size_t> sessions_by_generation() { return {}; }
    // The address actually bound ("127.0.0.1:40123" when the config said :0;
    // "unix:/path" for a unix: socket).
    std::string bound_address() const;
    // Re-reads the tls: files (every config reload does, for each TLS
    // service); when their content changed, new connections get the new
    // certificate and open ones keep theirs. Returns a line describing the
    // swap, "" when nothing changed or there is no tls:; throws naming the
    // file when it cannot be used (the old certificate serves on).
    virtual std::string reload_tls() { return {}; }
    // True while its serving loop is stuck (an event loop that has not
    // polled for long); the host then withholds the systemd watchdog ping.
    virtual bool stalled() const { return false; }

    // Listener hand-over, for a config reload that keeps the address: the
    // successor (same protocol, not started yet) adopts this service's
    // socket and starts; this one then stops without closing it, so the
    // kernel's backlog (or receive buffer) carries clients across the swap.
    bool can_hand_over_listener_to(const Service &next) const { return config().protocol == next.config().protocol; }
    void hand_over_listener(Service &next);
    // Before start(): serve on `socket`, already bound (and listening, for
    // TCP), instead of binding one: a predecessor's (hand_over_listener), the
    // one a mode process worker inherits, or one a service manager passed in.
    // `owner`: who removes a unix: socket file when it closes. A worker's
    // socket is its master's, a socket unit's is systemd's.
    enum class ListenerOwner { this_process, another_process };
    void adopt_listener(Poco::Net::Socket socket, ListenerOwner owner = ListenerOwner::this_process);
    // The socket belongs to someone else from now on too (the process
    // `portico upgrade` started, or the systemd socket unit it came from):
    // stopping leaves it open, listening, and its unix: file in place.
    void keep_listener_open() { listener_handed_over_ = true; }
    // The descriptor it listens (receives) on, for `portico upgrade` to
    // pass on; -1 before start().
    int listener_fd() const;

    const ServiceConfig &config() const { return config_; }
    const std::string &name() const { return config_.name; }
    ServiceCounters &counters() { return counters_; }
    const ServiceCounters &counters() const { return counters_; }
    const std::shared_ptr<ServiceHandle> &handle() const { return handle_; }
    // What status and metrics show for the service: its counters, plus, for
    // a service whose sessions run in worker processes, what every worker
    // (running or gone) counted.
    virtual CounterSnapshot figures() const { return CounterSnapshot::of(counters_); }
    // The same per worker slot; empty for a service without workers.
    virtual std::vector<WorkerFigures> worker_figures() const { return {}; }

    // The binding new sessions get; swapped atomically on plugin reload.
    std::shared_ptr<HandlerBinding> binding() const {
        std::lock_guard lock(binding_mutex_);
        return binding_;
    }
    // Returns when the old binding was replaced (HandlerBinding::replaced_at).
    std::chrono::steady_clock::time_point set_binding(std::shared_ptr<HandlerBinding> binding) {
        std::shared_ptr<HandlerBinding> old;
        const auto now = std::chrono::steady_clock::now();
        {
            std::lock_guard lock(binding_mutex_);
            old = std::exchange(binding_, std::move(binding));
            old->mark_replaced(now);
        }
        // `old` is released here, outside the lock; sessions may still hold it.
        binding_changed();
        return now;
    }

protected:
    // Runs after set_binding() swapped the binding, outside its lock. A
    // service whose sessions live in other processes (ProcessService) starts
    // workers on the new binding here; in-process services need nothing.
    virtual void binding_changed() {}
    // Runs on this service in hand_over_listener() before the successor
    // gets the socket (UdpService stops receiving: the successor will).
    virtual void before_hand_over() {}

    // In start(): the adopted socket, or a new one from `bind`; records the
    // bound address. Throws std::runtime_error naming the service, its
    // address and the config position.
    Poco::Net::Socket open_listener(const std::function<Poco::Net::Socket()> &bind);
    // TCP, every mode: open_listener() with a socket bound and listening as
    // the config says (Listener.h).
    Poco::Net::ServerSocket open_tcp_listener();
    const Poco::Net::Socket &listener() const { return listener_; }
    bool listener_handed_over() const { return listener_handed_over_.load(); }
    // Once nothing accepts on it any more: closes the socket (the kernel
    // would go on completing handshakes into a TCP backlog) and removes a
    // unix: socket file, unless the socket was handed to a successor.
    void close_listener();

    Service(ServiceConfig config, std::shared_ptr<ServiceHandle> handle, std::shared_ptr<HandlerBinding> binding)
        : config_(std::move(config)), handle_(std::move(handle)),
          counters_(handle_->shared_counters ? *handle_->shared_counters : own_counters_),
          binding_(std::move(binding)) {}

private:
    const ServiceConfig config_;
    std::shared_ptr<ServiceHandle> handle_;
    ServiceCounters own_counters_;
    ServiceCounters &counters_; // own_counters_, or the handle's shared_counters (a mode process worker)
    mutable std::mutex binding_mutex_;
    std::shared_ptr<HandlerBinding> binding_;

    Poco::Net::Socket listener_;
    bool listener_adopted_ = false; // open_listener() takes listener_ instead of binding
    ListenerOwner listener_owner_ = ListenerOwner::this_process;
    // close_listener() must leave it open; set by a reload or an upgrade while the service serves.
    std::atomic<bool> listener_handed_over_{false};
    Poco::Net::SocketAddress bound_;
};

// Makes the right kind of service for config.protocol.
std::unique_ptr<Service> make_service(const ServiceConfig &config, std::shared_ptr<ServiceHandle> handle,
                                      std::shared_ptr<HandlerBinding> binding);

} // namespace portico::host
