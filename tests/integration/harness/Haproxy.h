// Haproxy.h — Debian's haproxy in front of a portico service, as a load
// balancer would be in production: TCP mode, one frontend on a listener the
// test made (so its port is known before haproxy starts), one backend server
// with the given options (send-proxy, send-proxy-v2, check, ...).
#pragma once

#include "harness/ChildProcess.h"
#include "harness/TempDir.h"

#include <cstdint>
#include <memory>
#include <string>

namespace portico::test {

class Haproxy {
public:
    // `name` names its config file in `dir`; `server_options` follow "server app 127.0.0.1:<backend>". Throws
    // HarnessError naming the Debian package when haproxy is missing.
    Haproxy(const TempDir &dir, const std::string &name, std::uint16_t backend_port, const std::string &server_options);
    ~Haproxy();
    Haproxy(const Haproxy &) = delete;
    Haproxy &operator=(const Haproxy &) = delete;

    // Where clients connect: 127.0.0.1:port().
    std::uint16_t port() const { return port_; }
    std::string output() const { return process_->output(); }

private:
    int listen_fd_ = -1; // inherited by haproxy as fd@N
    std::uint16_t port_ = 0;
    std::unique_ptr<ChildProcess> process_;
};

} // namespace portico::test
