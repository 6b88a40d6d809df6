// SharedCounters.h — a ServiceCounters in a shared memory segment (a memfd
// mapped MAP_SHARED): the master of a mode process service creates one per
// worker, the worker counts straight into it, and the master reads it while
// the worker runs and after it died, however it died (SIGKILL included).
#pragma once

#include "service/ServiceCounters.h"

#include <cstddef>

namespace portico::host {

class SharedCounters {
public:
    // A new zeroed segment. Throws std::system_error when it cannot be made.
    static SharedCounters create();
    // Maps the segment behind `fd` (inherited from the master), which it
    // takes over. Throws std::runtime_error when fd is not such a segment.
    static SharedCounters attach(int fd);

    SharedCounters(SharedCounters &&other) noexcept;
    SharedCounters &operator=(SharedCounters &&other) = delete;
    SharedCounters(const SharedCounters &) = delete;
    ~SharedCounters();

    ServiceCounters &counters() { return *counters_; }
    const ServiceCounters &counters() const { return *counters_; }
    // For the worker to inherit; closed with this object.
    int fd() const { return fd_; }

private:
    SharedCounters(int fd, void *mapping);

    int fd_ = -1;
    void *mapping_ = nullptr;
    ServiceCounters *counters_ = nullptr;
};

} // namespace portico::host
