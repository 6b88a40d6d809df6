// VerifyRequest.h — the handler's own verify_request (SDK minor 2,
// socketserver's overridable method), asked after the config's checks: on
// the accept path, or after the PROXY header for a proxied service (so the
// handler judges the client, not the load balancer).
#pragma once

#include <Poco/Net/StreamSocket.h>

#include <string>

namespace portico::host {

class HandlerBinding;
class StreamService;

// True when `binding`'s handler (the service's current one, which the
// caller found has a verify_request) lets the connection in. False when it
// refused (counted, logged with `peer`, its message sent): the caller drops
// the ticket and closes. `peer` and `local` are "host:port" (`peer` the
// client a PROXY header named).
bool verify_request(StreamService &service, const HandlerBinding &binding, const Poco::Net::StreamSocket &socket,
                    const std::string &peer, const std::string &local);

} // namespace portico::host
