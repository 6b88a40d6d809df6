// Registrar.cpp — validates and copies what a plugin registers during init.
// Called from plugin code through the C ABI: never throws across it.
#include "plugin/Registrar.h"

#include <algorithm>
#include <cstddef>
#include <cstring>

namespace portico::host {
namespace {

// Records the first failure only: the SDK follows a refused registration
// with a fail("cannot register handler ...") that says less.
void record(portico_registrar *reg, std::string sentence) {
    if (reg->failure.empty()) reg->failure = std::move(sentence);
}

constexpr size_t name_end = offsetof(portico_handler_desc, name) + sizeof(portico_handler_desc::name);

int add(portico_registrar *reg, const portico_handler_desc *desc) {
    if (desc == nullptr) {
        record(reg, "register_handler was given no descriptor");
        return PORTICO_ERR_INVALID;
    }
    if (desc->size < name_end) {
        record(reg, "handler descriptor is too small (" + std::to_string(desc->size) + " bytes, need at least " +
                        std::to_string(name_end) + ")");
        return PORTICO_ERR_INVALID;
    }
    HandlerEntry entry;
    std::memcpy(&entry.desc, desc, std::min<size_t>(desc->size, sizeof entry.desc)); // rest stays zero
    entry.desc.size = sizeof entry.desc;
    if (reg->plugin_minor < 2) {
        // Its size should already leave them out; the minor says so too.
        entry.desc.traits = 0;
        entry.desc.reserved2 = 0;
        entry.desc.verify_request = nullptr;
    }

    if (entry.desc.name == nullptr) {
        record(reg, "a handler was registered without a name");
        return PORTICO_ERR_INVALID;
    }
    entry.name.assign(entry.desc.name, strnlen(entry.desc.name, max_name_length + 1));
    if (!is_valid_name(entry.name)) {
        record(reg, "invalid handler name '" + entry.name + "' (use 1 to " + std::to_string(max_name_length) +
                        " letters, digits, '_' or '-')");
        return PORTICO_ERR_INVALID;
    }
    switch (entry.desc.kind) {
    case PORTICO_HANDLER_STREAM:
        if (entry.desc.handle_stream == nullptr) {
            record(reg, "stream handler '" + entry.name + "' has no handle_stream function");
            return PORTICO_ERR_INVALID;
        }
        break;
    case PORTICO_HANDLER_DATAGRAM:
        if (entry.desc.handle_datagram == nullptr) {
            record(reg, "datagram handler '" + entry.name + "' has no handle_datagram function");
            return PORTICO_ERR_INVALID;
        }
        if (entry.desc.verify_request != nullptr) {
            record(reg, "datagram handler '" + entry.name +
                            "' has a verify_request function, which only stream handlers may have (a UDP "
                            "service filters its senders with allow/deny and rate_limit)");
            return PORTICO_ERR_INVALID;
        }
        break;
    default:
        record(reg, "handler '" + entry.name + "' has unknown kind " + std::to_string(entry.desc.kind));
        return PORTICO_ERR_INVALID;
    }
    entry.kind = static_cast<portico_handler_kind>(entry.desc.kind);
    for (const auto &existing : reg->handlers) {
        if (existing.name == entry.name) {
            record(reg, "duplicate handler name '" + entry.name + "'");
            return PORTICO_ERR_INVALID;
        }
    }
    // The plugin's name string may not outlive init; PluginVersion repoints
    // desc.name at its own copy.
    entry.desc.name = nullptr;
    reg->handlers.push_back(std::move(entry));
    return PORTICO_OK;
}

} // namespace

bool is_valid_name(std::string_view name) {
    if (name.empty() || name.size() > max_name_length) return false;
    for (const char c : name) {
        const bool ok =
            (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '_' || c == '-';
        if (!ok) return false;
    }
    return true;
}

int registrar_add(portico_registrar *reg, const portico_handler_desc *desc) {
    if (reg == nullptr) return PORTICO_ERR_INVALID;
    try {
        return add(reg, desc);
    } catch (...) {
        // Only allocation can throw here; the load fails as long as init was
        // told, and it was: the return value.
        try {
            record(reg, "out of memory while registering a handler");
        } catch (...) {
        }
        return PORTICO_ERR_INVALID;
    }
}

void registrar_fail(portico_registrar *reg, const char *reason) {
    if (reg == nullptr) return;
    try {
        record(reg, std::string("init failed: ") + (reason && *reason ? reason : "no reason given"));
    } catch (...) {
        // Out of memory: the load still fails because init reports an error.
    }
}

} // namespace portico::host
