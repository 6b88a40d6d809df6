// SystemdNotify.h — the sd_notify protocol, spoken directly: one datagram
// per state change to the AF_UNIX socket named by $NOTIFY_SOCKET (READY=1,
// RELOADING=1, STOPPING=1, STATUS=..., WATCHDOG=1, MAINPID=...).
#pragma once

#include <chrono>
#include <optional>
#include <string>
#include <string_view>

#include <sys/types.h>

namespace portico::host {

class SystemdNotify {
public:
    // Reads NOTIFY_SOCKET, WATCHDOG_USEC and WATCHDOG_PID. Without
    // NOTIFY_SOCKET (not started by systemd) every call does nothing.
    SystemdNotify();
    ~SystemdNotify();
    SystemdNotify(const SystemdNotify &) = delete;
    SystemdNotify &operator=(const SystemdNotify &) = delete;

    bool enabled() const { return fd_ >= 0; }

    void ready(std::string_view status);
    // RELOADING=1 with MONOTONIC_USEC, as Type=notify-reload asks for.
    void reloading(std::string_view status);
    void stopping(std::string_view status);
    void status(std::string_view status);
    void watchdog();
    // After an upgrade: this process becomes the unit's main process.
    void main_pid(pid_t pid, std::string_view status);

    // Half of WATCHDOG_USEC when the watchdog is on for this process.
    std::optional<std::chrono::microseconds> watchdog_interval() const { return watchdog_interval_; }

private:
    // Sends one datagram; a failure is logged once, never thrown: systemd
    // going away must not stop the host serving.
    void send(const std::string &message);

    int fd_ = -1;
    std::string address_; // sun_path bytes, a leading '\0' for the abstract namespace
    std::optional<std::chrono::microseconds> watchdog_interval_;
    bool warned_ = false;
};

} // namespace portico::host
