// SocketOptions.h — applies a service's `socket_options:` with setsockopt to
// its listening socket or to an accepted connection.
#pragma once

#include "config/Config.h"

#include <string>
#include <vector>

namespace portico::host {

// Sets every option of `options` meant for `target` on fd, in order. Returns
// "" or, at the first failure, a sentence naming the option, where the
// config says it, and the system's reason.
std::string apply_socket_options(int fd, const std::vector<SocketOptionConfig> &options, SocketOptionTarget target);

} // namespace portico::host
