// InheritedSockets.cpp — reading the LISTEN_* convention (sd_listen_fds(3))
// and matching passed sockets to services.
#include "net/InheritedSockets.h"

#include <Poco/Net/DatagramSocketImpl.h>
#include <Poco/Net/ServerSocketImpl.h>

#include <cerrno>
#include <cstdlib>
#include <cstring>

#include <arpa/inet.h>
#include <fcntl.h>
#include <netdb.h>
#include <netinet/in.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <unistd.h>

namespace portico::host {
namespace {

class AdoptedServerSocketImpl : public Poco::Net::ServerSocketImpl {
public:
    explicit AdoptedServerSocketImpl(poco_socket_t fd) { reset(fd); }
};

class AdoptedServerSocket : public Poco::Net::ServerSocket {
public:
    explicit AdoptedServerSocket(poco_socket_t fd) : ServerSocket(new AdoptedServerSocketImpl(fd), true) {}
};

class AdoptedDatagramSocketImpl : public Poco::Net::DatagramSocketImpl {
public:
    explicit AdoptedDatagramSocketImpl(poco_socket_t fd) { reset(fd); }
};

class AdoptedDatagramSocket : public Poco::Net::DatagramSocket {
public:
    explicit AdoptedDatagramSocket(poco_socket_t fd) : DatagramSocket(new AdoptedDatagramSocketImpl(fd)) {}
};

std::vector<std::string> split_names(const char *text) {
    std::vector<std::string> names;
    if (text == nullptr) return names;
    std::string current;
    for (const char *p = text; *p != '\0'; ++p) {
        if (*p == ':') {
            names.push_back(std::move(current));
            current.clear();
        } else {
            current += *p;
        }
    }
    names.push_back(std::move(current));
    return names;
}

int socket_option(int fd, int option) {
    int value = 0;
    socklen_t len = sizeof value;
    if (::getsockopt(fd, SOL_SOCKET, option, &value, &len) != 0) return -1;
    return value;
}

// The address text a config `listen:` value would produce for `listen`
// ("localhost" and a missing host resolved as binding does), to compare
// with socket_address_text().
std::vector<std::string> config_address_texts(const ListenAddress &listen) {
    if (listen.kind == ListenAddress::Kind::unix_path) return {listen.to_string()};
    if (listen.port == 0) return {}; // "any free port" names no particular socket
    const std::string port = std::to_string(listen.port);
    if (listen.host.empty()) return {"0.0.0.0:" + port, "[::]:" + port};
    if (listen.host == "localhost") return {"127.0.0.1:" + port, "[::1]:" + port};
    in6_addr v6{};
    if (::inet_pton(AF_INET6, listen.host.c_str(), &v6) == 1) {
        char text[INET6_ADDRSTRLEN] = {};
        ::inet_ntop(AF_INET6, &v6, text, sizeof text);
        return {"[" + std::string(text) + "]:" + port};
    }
    return {listen.host + ":" + port};
}

std::string kind_of(int type) {
    return type == SOCK_STREAM  ? "a stream (tcp) socket"
           : type == SOCK_DGRAM ? "a datagram (udp) socket"
                                : "a socket of type " + std::to_string(type);
}

std::string describe(const InheritedSocket &s) {
    std::string text = "fd " + std::to_string(s.fd);
    if (!s.name.empty()) text += " named '" + s.name + "'";
    text += s.address.empty() ? " (not a bound socket)" : " on " + s.address;
    return text;
}

} // namespace

std::string socket_address_text(int fd) {
    sockaddr_storage addr{};
    socklen_t len = sizeof addr;
    if (::getsockname(fd, reinterpret_cast<sockaddr *>(&addr), &len) != 0) return {};
    char host[INET6_ADDRSTRLEN] = {};
    if (addr.ss_family == AF_INET) {
        const auto *in = reinterpret_cast<const sockaddr_in *>(&addr);
        ::inet_ntop(AF_INET, &in->sin_addr, host, sizeof host);
        return std::string(host) + ":" + std::to_string(ntohs(in->sin_port));
    }
    if (addr.ss_family == AF_INET6) {
        const auto *in6 = reinterpret_cast<const sockaddr_in6 *>(&addr);
        ::inet_ntop(AF_INET6, &in6->sin6_addr, host, sizeof host);
        return "[" + std::string(host) + "]:" + std::to_string(ntohs(in6->sin6_port));
    }
    if (addr.ss_family == AF_UNIX) {
        const auto *un = reinterpret_cast<const sockaddr_un *>(&addr);
        const std::size_t max = len > offsetof(sockaddr_un, sun_path) ? len - offsetof(sockaddr_un, sun_path) : 0;
        if (max == 0) return "unix:(unnamed)";
        if (un->sun_path[0] == '\0') return "unix:@" + std::string(un->sun_path + 1, max - 1);
        return "unix:" + std::string(un->sun_path, ::strnlen(un->sun_path, max));
    }
    return {};
}

InheritedSockets InheritedSockets::from_environment() {
    InheritedSockets result;
    const char *pid = std::getenv("LISTEN_PID");
    const char *fds = std::getenv("LISTEN_FDS");
    const std::vector<std::string> names = split_names(std::getenv("LISTEN_FDNAMES"));
    const bool ours = pid != nullptr && std::strtol(pid, nullptr, 10) == static_cast<long>(::getpid());
    const long count = ours && fds != nullptr ? std::strtol(fds, nullptr, 10) : 0;
    ::unsetenv("LISTEN_PID");
    ::unsetenv("LISTEN_FDS");
    ::unsetenv("LISTEN_FDNAMES");
    for (long i = 0; i < count; ++i) {
        InheritedSocket s;
        s.fd = kFirstInheritedFd + static_cast<int>(i);
        if (::fcntl(s.fd, F_SETFD, FD_CLOEXEC) != 0) continue; // not open: nothing to serve or close
        if (static_cast<std::size_t>(i) < names.size()) s.name = names[static_cast<std::size_t>(i)];
        struct stat st {};
        if (::fstat(s.fd, &st) == 0 && S_ISSOCK(st.st_mode)) {
            s.type = socket_option(s.fd, SO_TYPE);
            s.listening = socket_option(s.fd, SO_ACCEPTCONN) == 1;
            s.address = socket_address_text(s.fd);
        }
        result.sockets_.push_back(std::move(s));
    }
    return result;
}

std::optional<int> InheritedSockets::claim(const std::string &name, const ListenAddress &listen, bool stream,
                                           const std::string &where) {
    const int wanted = stream ? SOCK_STREAM : SOCK_DGRAM;
    InheritedSocket *found = nullptr;
    for (InheritedSocket &s : sockets_)
        if (!s.claimed && !s.name.empty() && s.name == name) found = &s;
    if (found == nullptr) {
        // By address: a socket of the right type first, so a tcp and a udp
        // service may share a port number.
        InheritedSocket *wrong_type = nullptr;
        for (const std::string &text : config_address_texts(listen))
            for (InheritedSocket &s : sockets_) {
                if (s.claimed || s.address != text) continue;
                if (s.type == wanted && found == nullptr) found = &s;
                if (s.type != wanted && wrong_type == nullptr) wrong_type = &s;
            }
        if (found == nullptr) found = wrong_type;
    }
    if (found == nullptr) return std::nullopt;
    const std::string what = where + ": service '" + name + "' was passed " + describe(*found) + ", ";
    if (found->type != wanted)
        throw InheritedSocketError(
            what + "which is " + kind_of(found->type) + " but the service has protocol " + (stream ? "tcp" : "udp") +
            "; pass a " + (stream ? "ListenStream=" : "ListenDatagram=") + " socket or change the service's protocol");
    if (stream && !found->listening)
        throw InheritedSocketError(what + "which is not listening (Accept=yes hands over connections, not "
                                          "listeners); use Accept=no in the .socket unit");
    found->claimed = true;
    return found->fd;
}

std::vector<std::string> InheritedSockets::close_unclaimed() {
    std::vector<std::string> lines;
    for (InheritedSocket &s : sockets_) {
        if (s.claimed) continue;
        s.claimed = true;
        lines.push_back("passed socket " + describe(s) +
                        " matches no service by name (FileDescriptorName=) or by listen address; add a service for "
                        "it or remove it from the .socket unit");
        ::close(s.fd);
    }
    return lines;
}

Poco::Net::ServerSocket server_socket_from_fd(int fd) {
    return AdoptedServerSocket(fd);
}

Poco::Net::DatagramSocket datagram_socket_from_fd(int fd) {
    return AdoptedDatagramSocket(fd);
}

} // namespace portico::host
