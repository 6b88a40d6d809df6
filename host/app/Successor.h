// Successor.h — `portico upgrade`'s hand-over: start the portico binary now
// on disk with this process's listening sockets (the LISTEN_FDS convention
// of socket activation) and wait until it reports ready or fails.
#pragma once

#include <chrono>
#include <filesystem>
#include <string>
#include <vector>

#include <sys/types.h>

namespace portico::host {

// The variable naming the descriptor on which a successor reports: "ready"
// once it serves, or "error: ..." before it exits.
inline constexpr const char *kUpgradeReadyFdVariable = "PORTICO_UPGRADE_READY_FD";
// LISTEN_FDNAMES name of the admin socket in an upgrade's hand-over.
inline constexpr const char *kAdminSocketName = "portico-admin";

struct PassedSocket {
    std::string name; // the service's name, or kAdminSocketName
    int fd = -1;      // stays open and ours; the successor gets its own copy
};

struct SuccessorOutcome {
    bool ready = false;
    pid_t pid = 0;
    std::string error; // why it is not ready: its own report, its exit status, or the timeout
};

// Forks and execs `binary` with argv `args` (args[0] first), the sockets at
// descriptors 3.. and LISTEN_PID/LISTEN_FDS/LISTEN_FDNAMES saying so, then
// waits up to `timeout` for its report. A successor that fails is reaped (or
// killed at the timeout, then reaped); a ready one runs on, on its own.
SuccessorOutcome start_successor(const std::filesystem::path &binary, const std::vector<std::string> &args,
                                 const std::vector<PassedSocket> &sockets, std::chrono::milliseconds timeout);

// In the successor, once it serves (or knows it cannot): reports on the
// descriptor named by PORTICO_UPGRADE_READY_FD, if any, and closes it.
// `error` empty: ready. Does nothing for a host not started by an upgrade.
void report_to_predecessor(const std::string &error);
// True when this process was started by `portico upgrade`. Marks the
// report descriptor close-on-exec: the predecessor waits for its end, which
// a worker process holding a copy would delay.
bool started_by_upgrade();

} // namespace portico::host
