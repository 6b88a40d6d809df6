// AdminServer.h — the admin HTTP server on `admin.listen` (Poco HTTPServer,
// its own small thread pool): /health, /ready, /status, /metrics, /reload and
// the status page at /. main() composes it over the Host: started once the
// services are bound, destroyed before the Host at shutdown.
#pragma once

#include "config/Config.h"

#include <memory>
#include <string>

namespace Poco {
class ThreadPool;
namespace Net {
class HTTPServer;
}
} // namespace Poco

namespace portico::host {

class Host;
struct AdminContext;

class AdminServer {
public:
    // Binds config.listen (no host given: loopback). Throws std::runtime_error
    // naming the address and its config position when it cannot bind.
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
    std::unique_ptr<Poco::ThreadPool> pool_;
    std::unique_ptr<Poco::Net::HTTPServer> server_;
    std::string address_;
    bool stopped_ = false;
};

} // namespace portico::host
