// Listener.cpp — bind, listen, and the unix: socket file's life.
#include "net/Listener.h"

#include "net/SocketOptions.h"

#include <cerrno>
#include <cstring>
#include <stdexcept>

#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <unistd.h>

namespace portico::host {
namespace {

// A socket file left by a process that died is removed; one that a live
// server still answers on is an error (two hosts must not share a path).
void remove_stale_unix_socket(const std::string &path) {
    struct stat st {};
    if (::lstat(path.c_str(), &st) != 0) return; // nothing there
    if (!S_ISSOCK(st.st_mode))
        throw std::runtime_error(path + " exists and is not a socket; remove it or choose another path");
    const int fd = ::socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
    sockaddr_un addr{};
    addr.sun_family = AF_UNIX;
    std::strncpy(addr.sun_path, path.c_str(), sizeof addr.sun_path - 1);
    const bool live = fd >= 0 && ::connect(fd, reinterpret_cast<sockaddr *>(&addr), sizeof addr) == 0;
    if (fd >= 0) ::close(fd);
    if (live) throw std::runtime_error(path + " is in use by another running server");
    ::unlink(path.c_str());
}

} // namespace

Poco::Net::ServerSocket bind_listener(const ServiceConfig &cfg) {
    const ListenAddress &listen = cfg.listen;
    Poco::Net::ServerSocket socket;
    if (listen.kind == ListenAddress::Kind::unix_path) {
        remove_stale_unix_socket(listen.path);
        socket.bind(Poco::Net::SocketAddress(Poco::Net::SocketAddress::UNIX_LOCAL, listen.path), false);
        if (::chmod(listen.path.c_str(), static_cast<mode_t>(cfg.unix_mode)) != 0)
            throw std::runtime_error("cannot set mode of " + listen.path + ": " + std::strerror(errno));
    } else if (listen.is_v6()) {
        socket.bind6(Poco::Net::SocketAddress(listen.host, listen.port), cfg.reuse_address, cfg.reuse_port, true);
    } else {
        socket.bind(Poco::Net::SocketAddress(listen.host, listen.port), cfg.reuse_address, cfg.reuse_port);
    }
    socket.listen(cfg.backlog);
    if (const std::string failed =
            apply_socket_options(socket.impl()->sockfd(), cfg.socket_options, SocketOptionTarget::listener);
        !failed.empty())
        throw std::runtime_error("service '" + cfg.name + "': " + failed);
    return socket;
}

} // namespace portico::host
