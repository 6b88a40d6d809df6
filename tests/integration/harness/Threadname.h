// Threadname.h — which thread ran a handler, from the shipped threadname
// plugin's reply "<thread name>: <line>": how tests tell a worker per
// connection (mode threads) from connections sharing an event loop.
#pragma once

#include "harness/TcpClient.h"

#include <optional>
#include <string>

namespace portico::test {

// The thread name in `reply` to `line` (both ending in "\n"), or "" if the
// reply is not one.
std::string thread_name_in(const std::optional<std::string> &reply, const std::string &line);

// Sends `line` (no "\n") on `client` and returns the thread that answered;
// throws HarnessError when the reply is not a threadname reply to it.
std::string thread_of(TcpClient &client, const std::string &line);

} // namespace portico::test
