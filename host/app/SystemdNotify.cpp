// SystemdNotify.cpp — the notification datagrams (see sd_notify(3), "the
// notification protocol"): no libsystemd, the wire format is one sendto().
#include "app/SystemdNotify.h"

#include <Poco/Logger.h>

#include <cerrno>
#include <cstdlib>
#include <cstring>
#include <ctime>

#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

namespace portico::host {
namespace {

std::optional<std::chrono::microseconds> watchdog_from_env() {
    const char *usec = std::getenv("WATCHDOG_USEC");
    if (usec == nullptr || *usec == '\0') return std::nullopt;
    // WATCHDOG_PID, when set, names the process the watchdog is meant for:
    // a child that inherited the variable must not answer for its parent.
    if (const char *pid = std::getenv("WATCHDOG_PID"); pid != nullptr && *pid != '\0')
        if (std::strtol(pid, nullptr, 10) != static_cast<long>(::getpid())) return std::nullopt;
    char *end = nullptr;
    const unsigned long long value = std::strtoull(usec, &end, 10);
    if (end == usec || *end != '\0' || value == 0) return std::nullopt;
    return std::chrono::microseconds(static_cast<long long>(value / 2));
}

std::string monotonic_usec() {
    timespec ts{};
    ::clock_gettime(CLOCK_MONOTONIC, &ts);
    return std::to_string(static_cast<long long>(ts.tv_sec) * 1'000'000 + ts.tv_nsec / 1000);
}

// STATUS= is one line: a newline would start a new assignment.
std::string one_line(std::string_view text) {
    std::string line(text);
    for (char &c : line)
        if (c == '\n') c = ' ';
    return line;
}

} // namespace

SystemdNotify::SystemdNotify() {
    const char *path = std::getenv("NOTIFY_SOCKET");
    if (path == nullptr || *path == '\0') return;
    address_ = path;
    if (address_.front() == '@') address_.front() = '\0';
    if (address_.front() != '/' && address_.front() != '\0') {
        Poco::Logger::get("portico.host")
            .warning("NOTIFY_SOCKET=%s is neither a path nor an abstract socket (@name); systemd will not hear "
                     "from this host",
                     std::string(path));
        return;
    }
    if (address_.size() >= sizeof(sockaddr_un::sun_path)) {
        Poco::Logger::get("portico.host")
            .warning("NOTIFY_SOCKET=%s is too long for a unix socket address", std::string(path));
        return;
    }
    fd_ = ::socket(AF_UNIX, SOCK_DGRAM | SOCK_CLOEXEC, 0);
    watchdog_interval_ = watchdog_from_env();
}

SystemdNotify::~SystemdNotify() {
    if (fd_ >= 0) ::close(fd_);
}

void SystemdNotify::send(const std::string &message) {
    if (fd_ < 0) return;
    sockaddr_un addr{};
    addr.sun_family = AF_UNIX;
    std::memcpy(addr.sun_path, address_.data(), address_.size());
    const auto length = static_cast<socklen_t>(offsetof(sockaddr_un, sun_path) + address_.size());
    if (::sendto(fd_, message.data(), message.size(), MSG_NOSIGNAL, reinterpret_cast<sockaddr *>(&addr), length) >= 0)
        return;
    if (warned_) return;
    warned_ = true;
    const std::string shown = address_.front() == '\0' ? "@" + address_.substr(1) : address_;
    Poco::Logger::get("portico.host")
        .warning("cannot notify systemd on %s: %s (further failures are not logged)", shown,
                 std::string(std::strerror(errno)));
}

void SystemdNotify::ready(std::string_view status) {
    send("READY=1\nSTATUS=" + one_line(status));
}

void SystemdNotify::reloading(std::string_view status) {
    send("RELOADING=1\nMONOTONIC_USEC=" + monotonic_usec() + "\nSTATUS=" + one_line(status));
}

void SystemdNotify::stopping(std::string_view status) {
    send("STOPPING=1\nSTATUS=" + one_line(status));
}

void SystemdNotify::status(std::string_view status) {
    send("STATUS=" + one_line(status));
}

void SystemdNotify::watchdog() {
    send("WATCHDOG=1");
}

void SystemdNotify::main_pid(pid_t pid, std::string_view status) {
    send("MAINPID=" + std::to_string(pid) + "\nREADY=1\nSTATUS=" + one_line(status));
}

} // namespace portico::host
