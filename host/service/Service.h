// Service.h — one entry of the YAML's `services:`: a listener with its own
// limits, serving connections (TCP) or datagrams (UDP) with the handler
// binding that is current when each one arrives. TcpService and UdpService
// are the two kinds; the Host sees only this interface.
#pragma once

#include "config/Config.h"
#include "net/ServiceHandle.h"
#include "service/HandlerBinding.h"
#include "service/ServiceCounters.h"

#include <chrono>
#include <cstdint>
#include <map>
#include <memory>
#include <mutex>
#include <string>
#include <utility>

namespace portico::host {

class Service {
public:
    virtual ~Service() = default;
    Service(const Service &) = delete;
    Service &operator=(const Service &) = delete;

    // Binds and starts serving; throws std::runtime_error naming the service
    // and its address (with the config position) when it cannot bind.
    virtual void start() = 0;
    // Stops taking new connections/datagrams; open sessions go on. Idempotent.
    virtual void stop_accepting() = 0;
    // Waits until no session is open or the deadline passes; true if none left.
    virtual bool wait_sessions(std::chrono::steady_clock::time_point deadline) = 0;
    // Ends every open session now (their blocked reads return "stopping").
    virtual void close_sessions() = 0;
    // Ends the sessions still running on a binding other than the current one
    // (drain_timeout after a plugin reload). Returns how many it closed.
    virtual std::size_t close_stale_sessions() = 0;
    // Open sessions per plugin generation they pinned, for drain status.
    virtual std::map<uint64_t, std::size_t> sessions_by_generation() { return {}; }
    // The address actually bound ("127.0.0.1:40123" when the config said :0).
    virtual std::string bound_address() const = 0;
    // True while its serving loop is stuck (an event loop that has not
    // polled for long); the host then withholds the systemd watchdog ping.
    virtual bool stalled() const { return false; }

    const ServiceConfig &config() const { return config_; }
    const std::string &name() const { return config_.name; }
    ServiceCounters &counters() { return counters_; }
    const ServiceCounters &counters() const { return counters_; }
    const std::shared_ptr<ServiceHandle> &handle() const { return handle_; }

    // The binding new sessions get; swapped atomically on plugin reload.
    std::shared_ptr<HandlerBinding> binding() const {
        std::lock_guard lock(binding_mutex_);
        return binding_;
    }
    void set_binding(std::shared_ptr<HandlerBinding> binding) {
        std::shared_ptr<HandlerBinding> old;
        {
            std::lock_guard lock(binding_mutex_);
            old = std::exchange(binding_, std::move(binding));
        }
        // `old` is released here, outside the lock; sessions may still hold it.
        binding_changed();
    }

protected:
    // Runs after set_binding() swapped the binding, outside its lock. A
    // service whose sessions live in other processes (ProcessService) starts
    // workers on the new binding here; in-process services need nothing.
    virtual void binding_changed() {}

    Service(ServiceConfig config, std::shared_ptr<ServiceHandle> handle, std::shared_ptr<HandlerBinding> binding)
        : config_(std::move(config)), handle_(std::move(handle)), binding_(std::move(binding)) {}

private:
    const ServiceConfig config_;
    std::shared_ptr<ServiceHandle> handle_;
    ServiceCounters counters_;
    mutable std::mutex binding_mutex_;
    std::shared_ptr<HandlerBinding> binding_;
};

// Makes the right kind of service for config.protocol.
std::unique_ptr<Service> make_service(const ServiceConfig &config, std::shared_ptr<ServiceHandle> handle,
                                      std::shared_ptr<HandlerBinding> binding);

} // namespace portico::host
