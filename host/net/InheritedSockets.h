// InheritedSockets.h — listening sockets this process was given open
// (systemd socket activation, or the previous process during `portico
// upgrade`): LISTEN_PID/LISTEN_FDS/LISTEN_FDNAMES, descriptors from 3. Each
// is claimed by the service of the same name, or else of the same address.
#pragma once

#include "config/ListenAddress.h"

#include <Poco/Net/DatagramSocket.h>
#include <Poco/Net/ServerSocket.h>

#include <optional>
#include <stdexcept>
#include <string>
#include <vector>

#include <sys/socket.h>

namespace portico::host {

// A passed socket does not fit the service that claims it (stream for a
// udp service, not listening, ...); what() says which and what to change.
class InheritedSocketError : public std::runtime_error {
public:
    using std::runtime_error::runtime_error;
};

// The first passed descriptor (SD_LISTEN_FDS_START).
inline constexpr int kFirstInheritedFd = 3;

struct InheritedSocket {
    int fd = -1;
    std::string name; // its LISTEN_FDNAMES entry; "" when none was given
    int type = 0;     // SOCK_STREAM or SOCK_DGRAM (SOCK_SEQPACKET is refused at claim)
    bool listening = false;
    std::string address; // "127.0.0.1:8080", "[::]:53", "unix:/run/x.sock": for matching and messages
    bool claimed = false;
};

class InheritedSockets {
public:
    InheritedSockets() = default;
    // The sockets passed to this process, if LISTEN_PID is this process;
    // none otherwise. Removes the LISTEN_* variables (worker processes and
    // an upgrade's successor must not take them for theirs) and marks the
    // descriptors close-on-exec. A descriptor that is not a socket is
    // reported by unclaimed() like any other left over.
    static InheritedSockets from_environment();

    bool empty() const { return sockets_.empty(); }
    const std::vector<InheritedSocket> &sockets() const { return sockets_; }

    // The passed socket for the service `name` listening on `listen`
    // (`stream`: protocol tcp), found by name, else by address; nullopt when
    // there is none. The descriptor is the caller's from then on. Throws
    // InheritedSocketError when the one found does not fit; `where` (the
    // config position) starts its message.
    std::optional<int> claim(const std::string &name, const ListenAddress &listen, bool stream,
                             const std::string &where);
    // One line per passed socket that no claim() took, naming its fd, name
    // and address. Each is closed: no one will serve it.
    std::vector<std::string> close_unclaimed();

private:
    std::vector<InheritedSocket> sockets_;
};

// A Poco socket around a descriptor that is already bound (and listening);
// the Poco object owns and closes it.
Poco::Net::ServerSocket server_socket_from_fd(int fd);
Poco::Net::DatagramSocket datagram_socket_from_fd(int fd);

// "127.0.0.1:8080", "[::1]:53" or "unix:/path" for a bound socket; "" when
// getsockname fails.
std::string socket_address_text(int fd);

} // namespace portico::host
