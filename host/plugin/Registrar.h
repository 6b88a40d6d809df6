// Registrar.h — the host side of a plugin's init: collects the handlers the
// plugin registers (refusing duplicates and malformed descriptors) and the
// reason it gives when it fails.
#pragma once

#include "plugin/PluginVersion.h"
#include "portico/portico.h"

#include <string>
#include <string_view>
#include <vector>

struct portico_registrar {
    std::string plugin_file; // for messages
    // The ABI minor the plugin was built for: fields a later minor appended
    // are read only from a plugin that knows them.
    uint32_t plugin_minor = 0;
    std::vector<portico::host::HandlerEntry> handlers;
    // The first problem, as a sentence without the file: "init failed: <reason>"
    // from fail(), or e.g. "duplicate handler name 'x'" from a refused
    // registration. Later problems do not overwrite it (a refused registration
    // usually makes the SDK call fail() too).
    std::string failure;
};

namespace portico::host {
// The implementations behind portico_host_api::register_handler and ::fail.
int registrar_add(portico_registrar *reg, const portico_handler_desc *desc);
void registrar_fail(portico_registrar *reg, const char *reason);

// Plugin and handler names: 1 to 64 of [A-Za-z0-9_-].
bool is_valid_name(std::string_view name);
inline constexpr size_t max_name_length = 64;
} // namespace portico::host
