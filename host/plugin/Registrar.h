// Registrar.h — the host side of a plugin's init: collects the handlers the
// plugin registers (refusing duplicates and malformed descriptors) and the
// reason it gives when it fails.
#pragma once

#include "plugin/PluginVersion.h"
#include "portico/portico.h"

#include <string>
#include <vector>

struct portico_registrar {
    std::string plugin_file; // for messages
    std::vector<portico::host::HandlerEntry> handlers;
    std::string failure; // set by fail() or by a refused registration
};

namespace portico::host {
// The implementations behind portico_host_api::register_handler and ::fail.
int registrar_add(portico_registrar *reg, const portico_handler_desc *desc);
void registrar_fail(portico_registrar *reg, const char *reason);
} // namespace portico::host
