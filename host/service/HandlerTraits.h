// HandlerTraits.h — whether a handler's declared traits (ABI minor 2) let it
// serve a service's mode: a handler that may block outside Stream calls
// would stall every connection of an event loop, so mode events refuses it.
#pragma once

#include "config/Config.h"
#include "plugin/PluginVersion.h"

#include <optional>
#include <string>

namespace portico::host {

// Why `entry` cannot serve `svc` (a sentence naming the service and the
// handler, and what to do), or nothing when it can.
std::optional<std::string> blocking_in_events(const ServiceConfig &svc, const HandlerEntry &entry);

} // namespace portico::host
