// ProxyStage.h — the PROXY protocol step of a session on a service with
// `proxy_protocol:`: before TLS and the handler, on the session's own thread
// or fiber (never the accept thread or a loop's other work), it takes the
// load balancer's header within proxy_timeout and admits the client it names.
#pragma once

#include "net/IoWait.h"
#include "service/Admission.h"

#include <Poco/Net/StreamSocket.h>

#include <optional>
#include <string>

namespace portico::host {

class StreamService;

struct ProxiedPeer {
    // The client the header named, and the proxy (the socket's peer). Both
    // "" for a header that names no client (v2 LOCAL: the proxy's own health
    // check; PROXY UNKNOWN): the connection is then the proxy's, as it is.
    std::string client;
    std::string proxy;
};

// Reads the header and runs the client's admission (deny/allow,
// accept_rate, per_source_max). nullopt: refused (counted by reason, logged
// with the peer and why); the session must close without serving.
std::optional<ProxiedPeer> run_proxy_stage(StreamService &service, const Poco::Net::StreamSocket &socket,
                                           Admission::Ticket &ticket, IoWait &wait);

} // namespace portico::host
