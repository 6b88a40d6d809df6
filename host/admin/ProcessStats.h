// ProcessStats.h — the host process's own figures for the standard
// Prometheus process_* metrics, read from /proc/self and getrlimit.
#pragma once

#include <cstdint>

namespace portico::host {

struct ProcessStats {
    bool available = false; // false: /proc could not be read, the figures are 0
    double cpu_seconds = 0; // user + system
    uint64_t resident_bytes = 0;
    uint64_t virtual_bytes = 0;
    uint64_t open_fds = 0;
    uint64_t max_fds = 0;          // the soft RLIMIT_NOFILE
    double start_time_seconds = 0; // since the Unix epoch
    uint64_t threads = 0;
};

ProcessStats read_process_stats();

} // namespace portico::host
