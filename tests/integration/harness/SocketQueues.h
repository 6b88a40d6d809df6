// SocketQueues.h — what the kernel says about a loopback connection's
// queues (/proc/net/tcp{,6}), to wait for "the server has read what I sent"
// when the protocol itself gives no sign of it (a handler that reads a line
// and then works silently for a while).
#pragma once

#include "harness/Deadline.h"
#include "harness/TcpClient.h"

namespace portico::test {

// True when everything `client` sent has been acknowledged by the peer and
// read out of the server-side socket's receive queue by the server process.
bool server_has_read_all(const TcpClient &client);
bool wait_server_read_all(const TcpClient &client, Millis timeout = 5s);

} // namespace portico::test
