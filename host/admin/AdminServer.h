// AdminServer.h — the admin HTTP server on `admin.listen` (Poco HTTPServer,
// its own small thread pool): /health, /ready, /status, /metrics, /reload and
// the status page at /. main() composes it over the Host: started once the
// services are bound, destroyed before the Host at shutdown.
#pragma once

#include "config/Config.h"

#include <Poco/Net/ServerSocket.h>

#include <memory>
#include <optional>
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
    // `inherited`: a socket passed to this process for admin.listen (socket
    // activation, `portico upgrade`), served instead of binding one.
    AdminServer(Host &host, const AdminConfig &config, std::optional<Poco::Net::ServerSocket> inherited = std::nullopt);
    ~AdminServer();
    AdminServer(const AdminServer &) = delete;
    AdminServer &operator=(const AdminServer &) = delete;

    void start();
    // /ready answers 503 from now on (shutdown has begun); the rest still works.
    void set_not_ready();
    void stop();
    // `portico upgrade` handed the socket on: stop taking connections but let
    // the requests under way (the upgrade's own) finish; the successor keeps
    // the socket listening.
    void stop_accepting();
    // "127.0.0.1:9900", as bound.
    std::string address() const;
    // The listening socket's descriptor, for the upgrade to pass on.
    int listening_fd() const { return socket_.impl()->sockfd(); }

private:
    std::unique_ptr<AdminContext> context_;
    std::unique_ptr<Poco::ThreadPool> pool_;
    std::unique_ptr<Poco::Net::HTTPServer> server_;
    Poco::Net::ServerSocket socket_; // shared with server_: read for its descriptor only
    std::string address_;
    bool stopped_ = false;
};

} // namespace portico::host
