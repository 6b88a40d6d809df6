// Datagram.cpp — replies and sends on behalf of datagram handlers.
#include "net/Datagram.h"

#include <Poco/Exception.h>

#include <sys/socket.h>

namespace {

// A unix: datagram send blocks while the receiver's queue is full, so a
// client that sends without reading would hold a worker for good; its reply
// is lost instead, as a UDP datagram to a full buffer would be.
int send_flags(const Poco::Net::SocketAddress &target) {
    return target.family() == Poco::Net::SocketAddress::UNIX_LOCAL ? MSG_DONTWAIT : 0;
}

} // namespace

std::string portico::host::datagram_sender_text(const Poco::Net::SocketAddress &sender, bool unbound) {
    if (unbound) return {};
    if (sender.family() == Poco::Net::SocketAddress::UNIX_LOCAL) return "unix:" + sender.toString();
    return sender.toString();
}

int portico_datagram::reply(const void *bytes, std::size_t len) {
    if (bytes == nullptr && len > 0) return PORTICO_ERR_INVALID;
    if (sender_unbound) {
        reply_unaddressable = true;
        return PORTICO_ERR_IO;
    }
    try {
        socket->sendTo(bytes, static_cast<int>(len), sender, send_flags(sender));
        bytes_out += len;
        return PORTICO_OK;
    } catch (const Poco::Exception &) {
        return PORTICO_ERR_IO;
    }
}

int portico_datagram::send_to(const char *address, const void *bytes, std::size_t len) {
    if (address == nullptr || (bytes == nullptr && len > 0)) return PORTICO_ERR_INVALID;
    Poco::Net::SocketAddress target;
    try {
        target = Poco::Net::SocketAddress(address);
    } catch (const Poco::Exception &) {
        return PORTICO_ERR_INVALID;
    }
    try {
        socket->sendTo(bytes, static_cast<int>(len), target, send_flags(target));
        bytes_out += len;
        return PORTICO_OK;
    } catch (const Poco::Exception &) {
        return PORTICO_ERR_IO;
    }
}
