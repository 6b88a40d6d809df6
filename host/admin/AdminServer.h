// AdminServer.h — the admin HTTP server on `admin.listen` (AdminLoop: one
// poll thread and two workers): /health, /ready, /status, /metrics, /reload,
// /upgrade and the status page at /. main() composes it over the Host: started once
// the services are bound, destroyed before the Host at shutdown.
#pragma once

#include "config/Config.h"

#include <Poco/Net/ServerSocket.h>

#include <memory>
#include <optional>
#include <string>

namespace portico::host {

class Host;
struct AdminContext;
class AdminLoop;

class AdminServer {
public:
    // Binds config.listen (no host given: loopback), exclusively: no
    // SO_REUSEPORT, so a second host on the same port fails instead of sharing
    // it. Throws std::runtime_error naming the address and its config position
    // when it cannot bind. `inherited`: a socket passed to this process for
    // admin.listen (socket activation, `portico upgrade`), served instead of
    // binding one; `owns_file`: whether stop() removes its unix: socket file
    // (a socket unit's file is systemd's).
    AdminServer(Host &host, const AdminConfig &config, std::optional<Poco::Net::ServerSocket> inherited = std::nullopt,
                bool owns_file = true);
    ~AdminServer();
    AdminServer(const AdminServer &) = delete;
    AdminServer &operator=(const AdminServer &) = delete;

    void start();
    // /ready answers 503 from now on (shutdown has begun); the rest still works.
    void set_not_ready();
    // Closes the socket and removes a unix: socket file this process owns,
    // so the next start can bind it (not after stop_accepting()).
    void stop();
    // `portico upgrade` handed the socket on: stop taking connections but let
    // the requests under way (the upgrade's own) finish; the successor keeps
    // the socket listening and its unix: file in place.
    void stop_accepting();
    // "127.0.0.1:9900", as bound.
    std::string address() const;
    // The listening socket's descriptor, for the upgrade to pass on.
    int listening_fd() const { return socket_->impl()->sockfd(); }

private:
    std::unique_ptr<AdminContext> context_;
    std::unique_ptr<Poco::Net::ServerSocket> socket_;
    std::unique_ptr<AdminLoop> loop_;
    std::string address_;
    std::string unix_path_; // removed at stop(); "" when not ours to remove
    bool stopped_ = false;
};

} // namespace portico::host
