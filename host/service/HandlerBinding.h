// HandlerBinding.h — one service bound to one handler of one plugin version,
// with the per-service state the plugin made for it. A session pins the
// binding current when it starts; the binding pins its PluginVersion. When
// the last session of a replaced binding ends, the plugin's service_close
// runs (under plugins.call_timeout) and the version is released (and later
// unloaded by the registry; a stuck call keeps it mapped until it returns).
#pragma once

#include "config/Config.h"
#include "net/ServiceHandle.h"
#include "plugin/PluginVersion.h"

#include <atomic>
#include <chrono>
#include <memory>
#include <string>
#include <string_view>

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
    // What the host binds `svc`'s handler with in this process: open(), or
    // unopened() for mode process, whose plugin code runs in the workers only.
    static std::shared_ptr<HandlerBinding> for_service(const ServiceConfig &svc, std::shared_ptr<PluginVersion> version,
                                                       std::shared_ptr<ServiceHandle> service,
                                                       const HandlerBinding *previous);
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

    // One step of a state hand-off (state_export or state_import), run under
    // plugins.call_timeout. `stuck`: the call missed it and was abandoned; it
    // may still use this binding's state, which is then never closed.
    struct StateStep {
        enum class Result { ok, absent, failed, stuck };
        Result result = Result::absent;
        int status = 0;    // the plugin's return status when failed
        std::string bytes; // what state_export wrote, when ok
    };
    // Runs this binding's state_export (absent: the handler has none).
    StateStep export_state() const;
    // Runs this binding's state_import on bytes (absent: it has none).
    StateStep import_state(std::string_view bytes) const;
    // "service 'x': handler 'p.h' (file)", for messages about this binding.
    std::string describe() const;

    // Runs the plugin's stream handler on conn; returns its status.
    int handle_stream(portico_conn *conn) const;
    int handle_datagram(portico_datagram *dgram) const;
    // Whether the handler has a verify_request (ABI minor 2).
    bool verifies_requests() const { return handler_->desc.verify_request != nullptr; }
    // Asks the handler's verify_request about a connection from peer to
    // local: true to serve it; false to refuse it, with what the plugin
    // wants said to the client in `message` (may be empty).
    bool verify_request(const std::string &peer, const std::string &local, std::string &message) const;

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
