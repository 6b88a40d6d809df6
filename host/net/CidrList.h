// CidrList.h — "is this source in one of these networks?" for a service's
// allow: and deny: lists. A plain vector scan: lists are a handful of
// entries, and a scan keeps the order-free semantics obvious.
#pragma once

#include "config/Cidr.h"

#include <Poco/Net/IPAddress.h>

#include <vector>

namespace portico::host {

class CidrList {
public:
    CidrList() = default;
    explicit CidrList(std::vector<Cidr> networks) : networks_(std::move(networks)) {}

    bool empty() const { return networks_.empty(); }
    // An IPv4-mapped IPv6 source (::ffff:10.1.2.3, from a dual-stack socket)
    // also matches the IPv4 networks, so one list covers both socket kinds.
    bool contains(const Poco::Net::IPAddress &address) const;

private:
    std::vector<Cidr> networks_;
};

} // namespace portico::host
