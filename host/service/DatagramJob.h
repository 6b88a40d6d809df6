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

struct DatagramJob {
    std::string data;
    Poco::Net::SocketAddress sender;
    std::shared_ptr<HandlerBinding> binding;
    bool sender_unbound = false; // a unix: client with no path: no reply can reach it
};

} // namespace portico::host
