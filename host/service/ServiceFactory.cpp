// ServiceFactory.cpp — picks the service kind for a config entry.
#include "service/ProcessService.h"
#include "service/Service.h"
#include "service/TcpService.h"

#include <stdexcept>

namespace portico::host {

std::unique_ptr<Service> make_service(const ServiceConfig &config, std::shared_ptr<ServiceHandle> handle,
                                      std::shared_ptr<HandlerBinding> binding) {
    switch (config.protocol) {
    case Protocol::tcp:
        if (config.mode == ServiceMode::process)
            return std::make_unique<ProcessService>(config, std::move(handle), std::move(binding));
        return std::make_unique<TcpService>(config, std::move(handle), std::move(binding));
    case Protocol::udp: break;
    }
    throw std::runtime_error("service '" + config.name + "': protocol udp is not supported by this build yet (" +
                             config.pos.to_string() + ")");
}

} // namespace portico::host
