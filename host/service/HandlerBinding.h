// HandlerBinding.h — one service bound to one handler of one plugin version,
// with the per-service state the plugin made for it. A session pins the
// binding current when it starts; the binding pins its PluginVersion. When
// the last session of a replaced binding ends, the plugin's service_close
// runs (under plugins.call_timeout) and the version is released (and later
// unloaded by the registry; a stuck call keeps it mapped until it returns).
#pragma once

#include "net/ServiceHandle.h"
#include "plugin/PluginVersion.h"

#include <atomic>
#include <chrono>
#include <memory>
#include <string>

namespace portico::host {

class HandlerBinding {
public:
    // Opens the handler for the service (service_open, then state_import of
    // what `previous` exports, if given), each under plugins.call_timeout.
    // Throws std::runtime_error with a sentence naming the service, handler
    // and plugin file on failure (a stuck service_open included); a stuck
    // export or import only abandons the hand-off, and is logged.
    static std::shared_ptr<HandlerBinding> open(std::shared_ptr<PluginVersion> version, const std::string &handler,
                                                std::shared_ptr<ServiceHandle> service,
                                                const HandlerBinding *previous = nullptr);
    // For a service whose sessions run in other processes (mode process):
    // checks that the handler exists and pins the version, and runs no
    // plugin code here — service_open, the state hand-off and service_close
    // happen in the workers, each in its own binding. Throws as open() does
    // when the handler does not exist.
    static std::shared_ptr<HandlerBinding> unopened(std::shared_ptr<PluginVersion> version, const std::string &handler,
                                                    std::shared_ptr<ServiceHandle> service);
    ~HandlerBinding();
    HandlerBinding(const HandlerBinding &) = delete;
    HandlerBinding &operator=(const HandlerBinding &) = delete;

    const PluginVersion &version() const { return *version_; }
    const std::shared_ptr<PluginVersion> &version_ptr() const { return version_; }
    const HandlerEntry &handler() const { return *handler_; }
    ServiceHandle &service() const { return *service_; }

    // When a plugin reload replaced this binding as its service's current
    // one; time_point::max() while it is current. Sessions on it may be
    // closed for draining only drain_timeout after this.
    std::chrono::steady_clock::time_point replaced_at() const {
        return std::chrono::steady_clock::time_point(std::chrono::steady_clock::duration(replaced_at_.load()));
    }
    void mark_replaced(std::chrono::steady_clock::time_point at) { replaced_at_ = at.time_since_epoch().count(); }

    // Runs the plugin's stream handler on conn; returns its status.
    int handle_stream(portico_conn *conn) const;
    int handle_datagram(portico_datagram *dgram) const;

private:
    HandlerBinding(std::shared_ptr<PluginVersion> version, const HandlerEntry *handler,
                   std::shared_ptr<ServiceHandle> service);

    std::shared_ptr<PluginVersion> version_;
    const HandlerEntry *handler_;
    std::shared_ptr<ServiceHandle> service_;
    void *state_ = nullptr;
    bool opened_ = false;
    // An abandoned call (export, import) may still use state_: no close then.
    mutable std::atomic<bool> state_busy_{false};
    // Read by the drain timer while a reload may write it.
    std::atomic<std::chrono::steady_clock::rep> replaced_at_{
        std::chrono::steady_clock::time_point::max().time_since_epoch().count()};
};

} // namespace portico::host
