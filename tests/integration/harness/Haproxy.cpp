// Haproxy.cpp — the config file, the inherited frontend socket, and waiting
// until haproxy relays.
#include "harness/Haproxy.h"

#include "harness/Deadline.h"
#include "harness/ExternalTool.h"
#include "harness/HarnessError.h"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

namespace portico::test {
namespace {

// Not close-on-exec: haproxy takes it over as "fd@N".
int inheritable_listener(std::uint16_t &port) {
    const int fd = ::socket(AF_INET, SOCK_STREAM, 0);
    sockaddr_in address{};
    address.sin_family = AF_INET;
    address.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    socklen_t length = sizeof address;
    if (fd < 0 || ::bind(fd, reinterpret_cast<const sockaddr *>(&address), sizeof address) != 0 ||
        ::listen(fd, 64) != 0 || ::getsockname(fd, reinterpret_cast<sockaddr *>(&address), &length) != 0) {
        if (fd >= 0) ::close(fd);
        throw HarnessError("cannot make haproxy's frontend listener");
    }
    port = ntohs(address.sin_port);
    return fd;
}

} // namespace

Haproxy::Haproxy(const TempDir &dir, const std::string &name, std::uint16_t backend_port,
                 const std::string &server_options) {
    const auto program = require_tool("haproxy", "haproxy");
    listen_fd_ = inheritable_listener(port_);
    const auto config =
        dir.write_file("haproxy-" + name + ".cfg", "global\n  maxconn 256\n"
                                                   "defaults\n  mode tcp\n  timeout connect 5s\n"
                                                   "  timeout client 30s\n  timeout server 30s\n"
                                                   "frontend in\n  bind fd@" +
                                                       std::to_string(listen_fd_) +
                                                       "\n  default_backend out\n"
                                                       "backend out\n  server app 127.0.0.1:" +
                                                       std::to_string(backend_port) + " " + server_options + "\n");
    process_ = std::make_unique<ChildProcess>(program, std::vector<std::string>{"-db", "-f", config.string()});
    // Our copy of the listener stays open: the kernel queues connections on
    // it until haproxy accepts them, so there is nothing to wait for here.
}

Haproxy::~Haproxy() {
    process_.reset(); // SIGKILLed and reaped if still running
    if (listen_fd_ >= 0) ::close(listen_fd_);
}

} // namespace portico::test
