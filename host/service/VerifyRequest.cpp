// VerifyRequest.cpp — asks the service's bound handler about one connection.
#include "service/VerifyRequest.h"

#include "plugin/RunningCode.h"
#include "service/HandlerBinding.h"
#include "service/StreamService.h"

namespace portico::host {

bool verify_request(StreamService &service, const HandlerBinding &binding, const Poco::Net::StreamSocket &socket,
                    const std::string &peer, const std::string &local) {
    const PluginVersion &version = binding.version();
    const RunningCodeScope running(service.name(), version.plugin_name(), version.plugin_version(),
                                   version.generation(), version.plugin_name() + "." + binding.handler().name, peer);
    std::string message;
    if (binding.verify_request(peer, local, message)) return true;
    service.admission().refuse_by_handler(socket, peer, message);
    return false;
}

} // namespace portico::host
