// CidrList.cpp — prefix comparison on raw address bytes.
#include "net/CidrList.h"

#include <cstring>

namespace portico::host {
namespace {

bool prefix_matches(const uint8_t *address, const Cidr &network) {
    const int whole = network.prefix / 8;
    if (std::memcmp(address, network.bytes.data(), static_cast<std::size_t>(whole)) != 0) return false;
    const int rest = network.prefix % 8;
    if (rest == 0) return true;
    const auto mask = static_cast<uint8_t>(0xFF << (8 - rest));
    return (address[whole] & mask) == network.bytes[static_cast<std::size_t>(whole)];
}

} // namespace

bool CidrList::contains(const Poco::Net::IPAddress &address) const {
    const auto *bytes = static_cast<const uint8_t *>(address.addr());
    const bool v6 = address.family() == Poco::Net::IPAddress::IPv6;
    // The IPv4 address inside ::ffff:a.b.c.d is its last 4 bytes.
    const uint8_t *v4 = !v6 ? bytes : address.isIPv4Mapped() ? bytes + 12 : nullptr;
    for (const Cidr &network : networks_) {
        if (network.v6 ? (v6 && prefix_matches(bytes, network)) : (v4 != nullptr && prefix_matches(v4, network)))
            return true;
    }
    return false;
}

} // namespace portico::host
