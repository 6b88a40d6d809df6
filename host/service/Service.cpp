// Service.cpp — the listening socket every kind of service has: bound or
// adopted at start, handed to a successor on a config reload, closed (or
// not, when handed over) at stop.
#include "service/Service.h"

#include "net/Listener.h"

#include <stdexcept>

#include <unistd.h>

namespace portico::host {

Poco::Net::Socket Service::open_listener(const std::function<Poco::Net::Socket()> &bind) {
    const ServiceConfig &cfg = config();
    if (!listener_adopted_) {
        const auto fail = [&](const std::string &why) {
            return std::runtime_error("service '" + cfg.name + "': cannot listen on " +
                                      (cfg.protocol == Protocol::udp ? "udp " : "") + cfg.listen.to_string() + ": " +
                                      why + " (" + cfg.listen_pos.to_string() + ")");
        };
        try {
            listener_ = bind();
        } catch (const Poco::Exception &e) {
            throw fail(e.displayText());
        } catch (const std::runtime_error &e) {
            throw fail(e.what());
        }
    }
    bound_ = listener_.address();
    return listener_;
}

Poco::Net::ServerSocket Service::open_tcp_listener() {
    return Poco::Net::ServerSocket(open_listener([this] { return bind_listener(config()); }));
}

void Service::close_listener() {
    if (listener_handed_over_) return;
    // Another process (the master, systemd) still listens on that file.
    if (config().listen.kind == ListenAddress::Kind::unix_path && listener_owner_ == ListenerOwner::this_process)
        ::unlink(config().listen.path.c_str());
    listener_.close();
}

void Service::hand_over_listener(Service &next) {
    before_hand_over();
    listener_handed_over_ = true;
    next.adopt_listener(listener_, listener_owner_);
}

void Service::adopt_listener(Poco::Net::Socket socket, ListenerOwner owner) {
    listener_ = std::move(socket);
    listener_adopted_ = true;
    listener_owner_ = owner;
}

int Service::listener_fd() const {
    return listener_.impl()->initialized() ? listener_.impl()->sockfd() : -1;
}

std::string Service::bound_address() const {
    if (config().listen.kind == ListenAddress::Kind::unix_path) return config().listen.to_string();
    return bound_.toString();
}

} // namespace portico::host
