// HandlerBinding.cpp — opening, handing off and closing a handler's
// per-service state across the C ABI, each call under plugins.call_timeout.
#include "service/HandlerBinding.h"

#include "net/StateSink.h"

#include <Poco/Logger.h>

#include <stdexcept>

namespace portico::host {
namespace {

// What one per-service call touches, shared with the thread it runs on: an
// abandoned call keeps its plugin version mapped and its service alive.
struct ServiceCall {
    std::shared_ptr<PluginVersion> version;
    std::shared_ptr<ServiceHandle> service;
    portico_handler_desc desc{};
    void *state = nullptr;
    portico_sink sink{};
    int rc = PORTICO_ERR_HANDLER;
};

std::string missed_deadline(const std::string &entry, const PluginCaller &caller) {
    return entry + " did not return within plugins.call_timeout (" + std::to_string(caller.timeout().count()) +
           "ms); its thread is left running and its plugin copy stays loaded (counted as a stuck plugin call)";
}

Poco::Logger &plugin_log() {
    return Poco::Logger::get("portico.plugins");
}

// "service 'x': handler 'p.h' (file)": how every message about a binding
// names it.
std::string where_of(const ServiceHandle &service, const PluginVersion &version, const std::string &handler) {
    return "service '" + service.name + "': handler '" + version.plugin_name() + "." + handler + "' (" +
           version.source_file().string() + ")";
}

} // namespace

HandlerBinding::HandlerBinding(std::shared_ptr<PluginVersion> version, const HandlerEntry *handler,
                               std::shared_ptr<ServiceHandle> service)
    : version_(std::move(version)), handler_(handler), service_(std::move(service)) {}

std::shared_ptr<HandlerBinding> HandlerBinding::open(std::shared_ptr<PluginVersion> version, const std::string &handler,
                                                     std::shared_ptr<ServiceHandle> service,
                                                     const HandlerBinding *previous) {
    const HandlerEntry *entry = version->find_handler(handler);
    const std::string where = where_of(*service, *version, handler);
    if (entry == nullptr) throw std::runtime_error(where + " does not exist in this plugin version");
    if (!version->is_loaded())
        throw std::runtime_error(where + ": this version was only checked for mode process services and is not "
                                         "loaded in this process; reload the plugin");

    std::shared_ptr<HandlerBinding> binding(new HandlerBinding(std::move(version), entry, std::move(service)));
    const portico_handler_desc &desc = entry->desc;
    const PluginCaller &caller = binding->version_->caller();
    if (desc.service_open != nullptr) {
        auto call = std::make_shared<ServiceCall>(ServiceCall{binding->version_, binding->service_, desc});
        if (!caller.run(
                [call] { call->rc = call->desc.service_open(call->desc.user, call->service.get(), &call->state); }))
            throw std::runtime_error(where + ": " + missed_deadline("service_open", caller) +
                                     "; the service is not bound to this version");
        binding->state_ = call->state;
        if (call->rc != PORTICO_OK)
            throw std::runtime_error(where + ": service_open failed (status " + std::to_string(call->rc) + ")");
    }
    binding->opened_ = true;

    // Hand-off: only between versions of the same plugin and handler, and
    // only when both sides implement it. An unopened binding (a mode-process
    // service becoming one of another mode) has no state here to export:
    // its export_state() is absent.
    if (previous == nullptr || desc.state_import == nullptr ||
        previous->version_->plugin_name() != binding->version_->plugin_name() ||
        previous->handler_->name != entry->name)
        return binding;
    StateStep out = previous->export_state();
    if (out.result == StateStep::Result::absent) return binding;
    if (out.result == StateStep::Result::stuck) {
        plugin_log().error(where + ": the previous version's " +
                           missed_deadline("state_export", previous->version_->caller()) +
                           "; the hand-off is abandoned and this version starts with empty state");
        return binding;
    }
    if (out.result == StateStep::Result::failed)
        throw std::runtime_error(where + ": the previous version's state_export failed (status " +
                                 std::to_string(out.status) + ")");
    const StateStep in = binding->import_state(out.bytes);
    if (in.result == StateStep::Result::stuck) {
        plugin_log().error(where + ": " + missed_deadline("state_import", caller) +
                           "; the hand-off is abandoned and this version serves on without it");
        return binding;
    }
    if (in.result == StateStep::Result::failed)
        throw std::runtime_error(where + ": state_import failed (status " + std::to_string(in.status) + ")");
    return binding;
}

HandlerBinding::StateStep HandlerBinding::export_state() const {
    StateStep step;
    if (!opened_ || handler_->desc.state_export == nullptr) return step;
    auto out = std::make_shared<ServiceCall>(ServiceCall{version_, service_, handler_->desc, state_});
    if (!version_->caller().run([out] { out->rc = out->desc.state_export(out->desc.user, out->state, &out->sink); })) {
        // The state is still being read: never close it under the call.
        state_busy_ = true;
        step.result = StateStep::Result::stuck;
        return step;
    }
    step.status = out->rc;
    step.result = out->rc == PORTICO_OK ? StateStep::Result::ok : StateStep::Result::failed;
    if (out->rc == PORTICO_OK) step.bytes = std::move(out->sink.bytes);
    return step;
}

HandlerBinding::StateStep HandlerBinding::import_state(std::string_view bytes) const {
    StateStep step;
    if (!opened_ || handler_->desc.state_import == nullptr) return step;
    auto in = std::make_shared<ServiceCall>(ServiceCall{version_, service_, handler_->desc, state_});
    in->sink.bytes.assign(bytes);
    if (!version_->caller().run([in] {
            in->rc = in->desc.state_import(in->desc.user, in->state, in->sink.bytes.data(), in->sink.bytes.size());
        })) {
        state_busy_ = true;
        step.result = StateStep::Result::stuck;
        return step;
    }
    step.status = in->rc;
    step.result = in->rc == PORTICO_OK ? StateStep::Result::ok : StateStep::Result::failed;
    return step;
}

std::string HandlerBinding::describe() const {
    return where_of(*service_, *version_, handler_->name);
}

std::shared_ptr<HandlerBinding> HandlerBinding::for_service(const ServiceConfig &svc,
                                                            std::shared_ptr<PluginVersion> version,
                                                            std::shared_ptr<ServiceHandle> service,
                                                            const HandlerBinding *previous) {
    if (svc.mode == ServiceMode::process) return unopened(std::move(version), svc.handler, std::move(service));
    return open(std::move(version), svc.handler, std::move(service), previous);
}

std::shared_ptr<HandlerBinding> HandlerBinding::unopened(std::shared_ptr<PluginVersion> version,
                                                         const std::string &handler,
                                                         std::shared_ptr<ServiceHandle> service) {
    const HandlerEntry *entry = version->find_handler(handler);
    if (entry == nullptr)
        throw std::runtime_error(where_of(*service, *version, handler) + " does not exist in this plugin version");
    // opened_ stays false: no service_close either.
    return std::shared_ptr<HandlerBinding>(new HandlerBinding(std::move(version), entry, std::move(service)));
}

HandlerBinding::~HandlerBinding() {
    const portico_handler_desc &desc = handler_->desc;
    if (!opened_ || desc.service_close == nullptr) return;
    const std::string where = describe();
    if (state_busy_) {
        plugin_log().warning(where + ": service_close skipped: an abandoned call still uses this state");
        return;
    }
    const PluginCaller &caller = version_->caller();
    auto call = std::make_shared<ServiceCall>(ServiceCall{version_, service_, desc, state_});
    bool returned = false;
    try {
        returned = caller.run([call] { call->desc.service_close(call->desc.user, call->state); });
    } catch (const std::exception &e) {
        plugin_log().error(where + ": service_close skipped: cannot start a thread for it: " + e.what());
        return;
    }
    if (!returned) plugin_log().error(where + ": " + missed_deadline("service_close", caller));
}

int HandlerBinding::handle_stream(portico_conn *conn) const {
    const portico_handler_desc &desc = handler_->desc;
    if (desc.handle_stream == nullptr) return PORTICO_ERR_INVALID;
    return desc.handle_stream(desc.user, state_, conn);
}

bool HandlerBinding::verify_request(const std::string &peer, const std::string &local, std::string &message) const {
    const portico_handler_desc &desc = handler_->desc;
    if (desc.verify_request == nullptr) return true;
    // Room for a line or two; longer messages are cut, not overrun.
    char text[1024];
    text[0] = '\0';
    const int rc = desc.verify_request(desc.user, state_, peer.c_str(), local.c_str(), text, sizeof text);
    if (rc == PORTICO_OK) return true;
    text[sizeof text - 1] = '\0';
    message.assign(text);
    return false;
}

int HandlerBinding::handle_datagram(portico_datagram *dgram) const {
    const portico_handler_desc &desc = handler_->desc;
    if (desc.handle_datagram == nullptr) return PORTICO_ERR_INVALID;
    return desc.handle_datagram(desc.user, state_, dgram);
}

} // namespace portico::host
