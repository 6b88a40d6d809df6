// HandlerBinding.h — one service bound to one handler of one plugin version,
// with the per-service state the plugin made for it. A session pins the
// binding current when it starts; the binding pins its PluginVersion. When
// the last session of a replaced binding ends, the plugin's service_close
// runs and the version is released (and later unloaded by the registry).
#pragma once

#include "plugin/PluginVersion.h"
#include "net/ServiceHandle.h"

#include <memory>
#include <string>

namespace portico::host {

class HandlerBinding {
public:
    // Opens the handler for the service (service_open, then state_import of
    // what `previous` exports, if given). Throws std::runtime_error with a
    // sentence naming the service, handler and plugin file on failure.
    static std::shared_ptr<HandlerBinding> open(std::shared_ptr<PluginVersion> version, const std::string &handler,
                                                std::shared_ptr<ServiceHandle> service,
                                                const HandlerBinding *previous = nullptr);
    ~HandlerBinding();
    HandlerBinding(const HandlerBinding &) = delete;
    HandlerBinding &operator=(const HandlerBinding &) = delete;

    const PluginVersion &version() const { return *version_; }
    const std::shared_ptr<PluginVersion> &version_ptr() const { return version_; }
    const HandlerEntry &handler() const { return *handler_; }
    ServiceHandle &service() const { return *service_; }

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
};

} // namespace portico::host
