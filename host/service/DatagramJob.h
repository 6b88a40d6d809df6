// DatagramJob.h — one received datagram waiting for a worker: its bytes, its
// sender, and the handler binding that was current when it arrived (the
// hot-reload pin: it is handled by that plugin version whatever reloads
// happen while it waits).
#pragma once

#include "service/HandlerBinding.h"

#include <Poco/Net/SocketAddress.h>

#include <memory>
#include <string>

namespace portico::host {

// Where a datagram came from; `unbound`: a unix: client with no path, so
// `address` means nothing and no reply can reach it.
struct DatagramSender {
    Poco::Net::SocketAddress address;
    bool unbound = false;
};

struct DatagramJob {
    std::string data;
    DatagramSender sender;
    std::shared_ptr<HandlerBinding> binding;
};

} // namespace portico::host
