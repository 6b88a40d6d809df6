// HandlerTraits.cpp — a blocking handler refused for mode events, at --check,
// start and reload alike.
#include "service/HandlerTraits.h"

namespace portico::host {

std::optional<std::string> blocking_in_events(const ServiceConfig &svc, const HandlerEntry &entry) {
    if (svc.mode != ServiceMode::events || (entry.desc.traits & PORTICO_TRAIT_BLOCKING) == 0) return std::nullopt;
    const std::string full = svc.plugin + "." + svc.handler;
    return "service '" + svc.name + "': handler '" + full +
           "' declares that it may block outside Stream calls (PORTICO_TRAIT_BLOCKING; in C++ `may_block`), "
           "which would stall every connection of an event loop, so it cannot serve mode: events; use mode: "
           "threads (or process) for this service";
}

} // namespace portico::host
