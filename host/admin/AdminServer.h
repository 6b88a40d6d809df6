// AdminServer.h — the admin HTTP server on `admin.listen` (AdminLoop: one
// poll thread and two workers): /health, /ready, /status, /metrics, /reload
// and the status page at /. main() composes it over the Host: started once
// the services are bound, destroyed before the Host at shutdown.
#pragma once

#include "config/Config.h"

#include <memory>
#include <string>

namespace Poco::Net {
class ServerSocket;
} // namespace Poco::Net

namespace portico::host {

class Host;
struct AdminContext;
class AdminLoop;

class AdminServer {
public:
    // Binds config.listen (no host given: loopback), exclusively: no
    // SO_REUSEPORT, so a second host on the same port fails instead of sharing
    // it. Throws std::runtime_error naming the address and its config position
    // when it cannot bind.
    AdminServer(Host &host, const AdminConfig &config);
    ~AdminServer();
    AdminServer(const AdminServer &) = delete;
    AdminServer &operator=(const AdminServer &) = delete;

    void start();
    // /ready answers 503 from now on (shutdown has begun); the rest still works.
    void set_not_ready();
    void stop();
    // "127.0.0.1:9900", as bound.
    std::string address() const;

private:
    std::unique_ptr<AdminContext> context_;
    std::unique_ptr<Poco::Net::ServerSocket> socket_;
    std::unique_ptr<AdminLoop> loop_;
    std::string address_;
    bool stopped_ = false;
};

} // namespace portico::host
