// WorkerSpawn.h — starting one worker process of a `mode: process` service:
// fork + exec of the portico binary itself in its hidden worker mode, with
// the listening socket, the config text, the counters segment, a control
// socket and (after a plugin reload) the old worker's state passed as
// inherited descriptors.
// The contract between ProcessService (master) and app/Worker.cpp (child).
#pragma once

#include <filesystem>
#include <string>

#include <sys/types.h>

namespace portico::host {

// Descriptors a worker finds open when it starts; every other one is closed.
inline constexpr int kWorkerListenFd = 3;   // the service's listening socket, shared with the master
inline constexpr int kWorkerConfigFd = 4;   // the config text the master parsed (a sealed memfd)
inline constexpr int kWorkerCountersFd = 5; // the worker's counters, shared with the master (SharedCounters)
inline constexpr int kWorkerLimitsFd = 6;   // the service-wide admission counts (SharedAdmission)
inline constexpr int kWorkerControlFd = 7;  // the master asks for the worker's state here (StateHandoff)
inline constexpr int kWorkerStateFd = 8;    // open only when there is state to import: a sealed memfd
// argv of a worker, after the others: `--limits-slot N`, its slot in kWorkerLimitsFd.
inline constexpr const char *kWorkerLimitsSlotFlag = "--limits-slot";
// argv[1] of a worker: `portico --worker NAME --config FILE --plugin SO`.
inline constexpr const char *kWorkerFlag = "--worker";

struct WorkerLaunch {
    std::string service;               // the service entry to serve, by name
    std::filesystem::path config_file; // for messages and relative paths only; the text comes from kWorkerConfigFd
    std::filesystem::path plugin_file; // the master's shadow copy of the plugin version to serve
    int listen_fd = -1;
    int config_fd = -1;
    int counters_fd = -1;
    int limits_fd = -1;
    int limits_slot = -1;
    int control_fd = -1;
    int state_fd = -1; // -1: the worker starts with fresh state
};

// Forks and execs /proc/self/exe as a worker. The child dies with the thread
// that spawned it (PR_SET_PDEATHSIG: SIGTERM), so spawn from a thread that
// lives as long as the worker should. Throws std::system_error if fork fails;
// a failed exec shows as the child exiting with status 127.
pid_t spawn_worker(const WorkerLaunch &launch);

} // namespace portico::host
