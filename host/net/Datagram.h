// Datagram.h — what a plugin's `portico_datagram *` points at: one received
// datagram (UDP or unix:), its sender, and the socket replies leave through.
#pragma once

#include "net/ServiceHandle.h"
#include "portico/portico.h"

#include <Poco/Net/DatagramSocket.h>
#include <Poco/Net/SocketAddress.h>

#include <cstddef>
#include <string>

namespace portico::host {
// How the SDK and the logs name a sender: "127.0.0.1:5000", "[::1]:5000",
// "unix:/path"; "" for a unix: client that bound no path.
std::string datagram_sender_text(const Poco::Net::SocketAddress &sender, bool unbound);
} // namespace portico::host

struct portico_datagram {
    const char *data = nullptr;
    std::size_t size = 0;
    Poco::Net::SocketAddress sender;
    // A unix: client that bound no path (or an abstract name): `sender` is
    // meaningless and a reply has nowhere to go.
    bool sender_unbound = false;
    Poco::Net::DatagramSocket *socket = nullptr; // the service's socket; replies are sent from it
    portico_service *service = nullptr;
    uint64_t bytes_out = 0;
    // reply() was called for a sender_unbound datagram (the service counts
    // and logs it).
    bool reply_unaddressable = false;

    int reply(const void *bytes, std::size_t len);
    int send_to(const char *address, const void *bytes, std::size_t len);
};
