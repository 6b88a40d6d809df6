// SocketOptionsReader.h — reads a service's `socket_options:` list against
// the table of known options (SocketOption.h), and checks it against the
// rest of the service (protocol, listen address) once all keys are read.
#pragma once

#include "config/Config.h"
#include "config/ConfigReader.h"

namespace portico::host {

// `socket_options: [{level: SOL_SOCKET, name: SO_KEEPALIVE, value: 1, on: accepted}]`
void read_socket_options(ConfigReader &r, const YamlValue &v, ServiceConfig &out);
// Options that cannot apply to this service (TCP options on UDP, IP options
// on a unix: socket, `on: accepted` without accepted sockets).
void check_socket_options(ConfigReader &r, const YamlValue &item, const ServiceConfig &service);

} // namespace portico::host
