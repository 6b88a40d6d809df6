// SocketQueues.cpp — both ends of the connection in /proc/net/tcp{,6}: our
// send queue drained and the server's receive queue read out.
#include "harness/SocketQueues.h"

#include "harness/ProcNetTcp.h"

namespace portico::test {

bool server_has_read_all(const TcpClient &client) {
    const auto mine = find_tcp_socket(client.local_port(), client.remote_port());
    const auto theirs = find_tcp_socket(client.remote_port(), client.local_port());
    return mine && theirs && mine->tx_queue == 0 && theirs->rx_queue == 0;
}

bool wait_server_read_all(const TcpClient &client, Millis timeout) {
    return wait_until([&] { return server_has_read_all(client); }, timeout);
}

} // namespace portico::test
