// HandlerBinding.cpp — opening, handing off and closing a handler's
// per-service state across the C ABI.
#include "service/HandlerBinding.h"

#include "net/StateSink.h"

#include <stdexcept>

namespace portico::host {

HandlerBinding::HandlerBinding(std::shared_ptr<PluginVersion> version, const HandlerEntry *handler,
                               std::shared_ptr<ServiceHandle> service)
    : version_(std::move(version)), handler_(handler), service_(std::move(service)) {}

std::shared_ptr<HandlerBinding> HandlerBinding::open(std::shared_ptr<PluginVersion> version, const std::string &handler,
                                                     std::shared_ptr<ServiceHandle> service,
                                                     const HandlerBinding *previous) {
    const HandlerEntry *entry = version->find_handler(handler);
    const std::string where = "service '" + service->name + "': handler '" + version->plugin_name() + "." + handler +
                              "' (" + version->source_file().string() + ")";
    if (entry == nullptr) throw std::runtime_error(where + " does not exist in this plugin version");

    std::shared_ptr<HandlerBinding> binding(new HandlerBinding(std::move(version), entry, std::move(service)));
    const portico_handler_desc &desc = entry->desc;
    if (desc.service_open != nullptr) {
        const int rc = desc.service_open(desc.user, binding->service_.get(), &binding->state_);
        if (rc != PORTICO_OK)
            throw std::runtime_error(where + ": service_open failed (status " + std::to_string(rc) + ")");
    }
    binding->opened_ = true;

    // Hand-off: only between versions of the same plugin and handler, and
    // only when both sides implement it.
    if (previous != nullptr && previous->handler_->desc.state_export != nullptr && desc.state_import != nullptr &&
        previous->version_->plugin_name() == binding->version_->plugin_name() &&
        previous->handler_->name == entry->name) {
        portico_sink sink;
        const auto &old_desc = previous->handler_->desc;
        const int exported = old_desc.state_export(old_desc.user, previous->state_, &sink);
        if (exported != PORTICO_OK)
            throw std::runtime_error(where + ": the previous version's state_export failed (status " +
                                     std::to_string(exported) + ")");
        const int imported = desc.state_import(desc.user, binding->state_, sink.bytes.data(), sink.bytes.size());
        if (imported != PORTICO_OK)
            throw std::runtime_error(where + ": state_import failed (status " + std::to_string(imported) + ")");
    }
    return binding;
}

HandlerBinding::~HandlerBinding() {
    const portico_handler_desc &desc = handler_->desc;
    if (opened_ && desc.service_close != nullptr) desc.service_close(desc.user, state_);
}

int HandlerBinding::handle_stream(portico_conn *conn) const {
    const portico_handler_desc &desc = handler_->desc;
    if (desc.handle_stream == nullptr) return PORTICO_ERR_INVALID;
    return desc.handle_stream(desc.user, state_, conn);
}

int HandlerBinding::handle_datagram(portico_datagram *dgram) const {
    const portico_handler_desc &desc = handler_->desc;
    if (desc.handle_datagram == nullptr) return PORTICO_ERR_INVALID;
    return desc.handle_datagram(desc.user, state_, dgram);
}

} // namespace portico::host
