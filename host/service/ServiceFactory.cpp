// ServiceFactory.cpp — picks the service kind for a config entry.
#include "service/EventService.h"
#include "service/ProcessService.h"
#include "service/Service.h"
#include "service/ThreadsService.h"
#include "service/UdpService.h"

#include <stdexcept>

namespace portico::host {

std::unique_ptr<Service> make_service(const ServiceConfig &config, std::shared_ptr<ServiceHandle> handle,
                                      std::shared_ptr<HandlerBinding> binding) {
    switch (config.protocol) {
    case Protocol::tcp:
        if (config.mode == ServiceMode::process)
            return std::make_unique<ProcessService>(config, std::move(handle), std::move(binding));
        if (config.mode == ServiceMode::events)
            return std::make_unique<EventService>(config, std::move(handle), std::move(binding));
        return std::make_unique<ThreadsService>(config, std::move(handle), std::move(binding));
    case Protocol::udp:
        return std::make_unique<UdpService>(config, std::move(handle), std::move(binding));
    }
    throw std::runtime_error("service '" + config.name + "': unknown protocol (" + config.pos.to_string() + ")");
}

} // namespace portico::host
