// ServiceHandle.h — what a plugin's `portico_service *` points at: the bound
// service's name, its `config:` settings and its stopping flag. Shared by the
// service and every binding of it, so it outlives all plugin state that
// refers to it.
#pragma once

#include "portico/portico.h"

#include <Poco/Logger.h>

#include <atomic>
#include <map>
#include <memory>
#include <string>

namespace portico::host {
struct ServiceCounters;
} // namespace portico::host

struct portico_service {
    portico_service(std::string service_name, std::map<std::string, std::string> service_settings)
        : name(std::move(service_name)), settings(std::move(service_settings)),
          logger(Poco::Logger::get("portico.service." + name)) {}

    const std::string name;
    const std::map<std::string, std::string> settings;
    std::atomic<bool> stopping{false};
    Poco::Logger &logger;
    // Where the service counts, when not in its own memory: a mode process
    // worker counts into the segment its master reads (SharedCounters). Set
    // before the service is made; it must outlive the service.
    portico::host::ServiceCounters *shared_counters = nullptr;
};

namespace portico::host {
using ServiceHandle = portico_service;
} // namespace portico::host
