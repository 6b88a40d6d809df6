// UnixSocketFile.h — the file of a unix: listener, stream or datagram: a file
// left by a dead process is replaced, one a live server answers on (of either
// socket type) is an error, and the file gets the config's unix_mode.
#pragma once

#include <string>

namespace portico::host {

// Before bind: removes `path` if it is a socket nobody answers on. Throws
// std::runtime_error if it is not a socket or a live server uses it.
void remove_stale_unix_socket(const std::string &path);
// After bind: chmod to `mode`; throws std::runtime_error naming the path.
void set_unix_socket_mode(const std::string &path, int mode);

} // namespace portico::host
