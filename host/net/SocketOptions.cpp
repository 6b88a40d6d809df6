// SocketOptions.cpp — setsockopt for the options the config validated.
#include "net/SocketOptions.h"

#include <cerrno>
#include <cstring>

#include <sys/socket.h>

namespace portico::host {

std::string apply_socket_options(int fd, const std::vector<SocketOptionConfig> &options, SocketOptionTarget target) {
    for (const SocketOptionConfig &option : options) {
        if (option.on != target) continue;
        const int value = option.value;
        if (::setsockopt(fd, option.level_value, option.name_value, &value, sizeof value) != 0) {
            const int error = errno;
            return option.pos.to_string() + ": socket_options: setsockopt(" + option.level + ", " + option.name + ", " +
                   std::to_string(value) + ") on the " +
                   (target == SocketOptionTarget::listener ? "listening socket" : "accepted connection") +
                   " failed: " + std::strerror(error) +
                   (error == EPERM ? " (this option needs a privilege the host lacks, e.g. CAP_NET_ADMIN)"
                                   : "; check the value against socket(7), tcp(7) or ip(7)");
        }
    }
    return {};
}

} // namespace portico::host
