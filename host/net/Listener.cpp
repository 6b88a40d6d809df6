// Listener.cpp — bind and listen, as the config says.
#include "net/Listener.h"

#include "net/UnixSocketFile.h"

namespace portico::host {

Poco::Net::ServerSocket bind_listener(const ServiceConfig &cfg) {
    const ListenAddress &listen = cfg.listen;
    Poco::Net::ServerSocket socket;
    if (listen.kind == ListenAddress::Kind::unix_path) {
        remove_stale_unix_socket(listen.path);
        socket.bind(Poco::Net::SocketAddress(Poco::Net::SocketAddress::UNIX_LOCAL, listen.path), false);
        set_unix_socket_mode(listen.path, cfg.unix_mode);
    } else if (listen.is_v6()) {
        socket.bind6(Poco::Net::SocketAddress(listen.host, listen.port), cfg.reuse_address, cfg.reuse_port, true);
    } else {
        socket.bind(Poco::Net::SocketAddress(listen.host, listen.port), cfg.reuse_address, cfg.reuse_port);
    }
    socket.listen(cfg.backlog);
    return socket;
}

} // namespace portico::host
