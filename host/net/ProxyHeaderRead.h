// ProxyHeaderRead.h — takes a PROXY protocol header off an accepted socket,
// exactly its bytes and no more (the client's first bytes, or its TLS
// handshake, stay in the socket), within a deadline and a size limit.
#pragma once

#include "net/IoWait.h"
#include "net/ProxyHeader.h"

#include <string>

namespace portico::host {

struct ProxyRead {
    enum class Status { complete, invalid, timeout, closed, failed };
    Status status = Status::failed;
    ProxyHeader header; // complete only
    std::string error;  // otherwise: what went wrong, for the refusal log
};

// Waits through `wait` (the session's thread or fiber, never an accept
// thread) until the whole header came, it turned out invalid, the peer
// closed, or `deadline` passed. Every recv is non-blocking, whatever the
// socket's own mode.
ProxyRead read_proxy_header(int fd, IoWait &wait, const ProxyOptions &options, IoWait::Clock::time_point deadline);

} // namespace portico::host
