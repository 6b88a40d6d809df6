// Listener.h — binding a TCP service's listening socket as its config says
// (host:port, [v6]:port or unix:/path, reuse flags, backlog), for every
// mode. A unix: path left by a dead process is replaced; one a live server
// answers on is an error.
#pragma once

#include "config/Config.h"

#include <Poco/Net/ServerSocket.h>

namespace portico::host {

// Throws std::runtime_error (unix path problems) or Poco::Exception (bind, listen).
Poco::Net::ServerSocket bind_listener(const ServiceConfig &config);

} // namespace portico::host
