// Datagram.cpp — replies and sends on behalf of datagram handlers.
#include "net/Datagram.h"

#include <Poco/Exception.h>

int portico_datagram::reply(const void *bytes, std::size_t len) {
    if (bytes == nullptr && len > 0) return PORTICO_ERR_INVALID;
    if (sender.family() == Poco::Net::SocketAddress::UNIX_LOCAL && sender.toString().empty()) {
        reply_unaddressable = true;
        return PORTICO_ERR_IO;
    }
    try {
        socket->sendTo(bytes, static_cast<int>(len), sender);
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
        socket->sendTo(bytes, static_cast<int>(len), target);
        bytes_out += len;
        return PORTICO_OK;
    } catch (const Poco::Exception &) {
        return PORTICO_ERR_IO;
    }
}
