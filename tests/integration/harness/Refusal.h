// Refusal.h — what a client sees of admission (allow/deny, max_connections,
// per_source_max, accept_rate, a full queue): served, or told kBusy and
// closed at once, never left hanging. For services configured with
// `busy_message: kBusyMessage`.
#pragma once

#include "harness/ConnectStorm.h"
#include "harness/TcpClient.h"

#include <cstdint>
#include <string>

namespace portico::test {

// The busy_message the tests configure, and the line a refused client reads.
inline const std::string kBusyMessage = "busy, try later";
inline const std::string kBusy = kBusyMessage + "\r\n";

// What `client` gets for "ping\n" from upper: "PING\n" when it is served;
// when it is refused, the line the host said before closing ("" if none).
std::string probe(TcpClient &client);
// The same on a new connection to 127.0.0.1:port.
std::string probe_new(std::uint16_t port);

// A GoogleTest check: the host closes `client` within 2 s, having said kBusy,
// and within 1 s of this call. `why` names the refusal in failure messages.
void expect_refused_promptly(TcpClient &client, const std::string &why);

// A GoogleTest check on a connect storm against a service that has room for
// `served` more clients: that many got in, every other attempt was refused at
// once with kBusy, none hung or failed to connect, none took 5 s.
void expect_flood_refused(const StormResult &storm, int attempts, int served);

} // namespace portico::test
