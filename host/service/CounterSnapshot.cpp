// CounterSnapshot.cpp — copying and adding up service counters.
#include "service/CounterSnapshot.h"

namespace portico::host {

CounterSnapshot CounterSnapshot::of(const ServiceCounters &c) {
    CounterSnapshot s;
    s.accepted = c.accepted.load();
    s.datagrams = c.datagrams.load();
    s.active = c.active.load();
    s.refused = c.refused.load();
    for (std::size_t i = 0; i < s.refused_by.size(); ++i)
        s.refused_by[i] = c.refused_by[i].load();
    s.dropped = c.dropped.load();
    for (std::size_t i = 0; i < s.dropped_by.size(); ++i)
        s.dropped_by[i] = c.dropped_by[i].load();
    s.handler_errors = c.handler_errors.load();
    s.timeouts = c.timeouts.load();
    s.bytes_in = c.bytes_in.load();
    s.bytes_out = c.bytes_out.load();
    s.durations = c.session_duration.snapshot();
    return s;
}

CounterSnapshot &CounterSnapshot::operator+=(const CounterSnapshot &o) {
    accepted += o.accepted;
    datagrams += o.datagrams;
    active += o.active;
    refused += o.refused;
    for (std::size_t i = 0; i < refused_by.size(); ++i)
        refused_by[i] += o.refused_by[i];
    dropped += o.dropped;
    for (std::size_t i = 0; i < dropped_by.size(); ++i)
        dropped_by[i] += o.dropped_by[i];
    handler_errors += o.handler_errors;
    timeouts += o.timeouts;
    bytes_in += o.bytes_in;
    bytes_out += o.bytes_out;
    for (std::size_t i = 0; i < durations.buckets.size(); ++i)
        durations.buckets[i] += o.durations.buckets[i];
    durations.count += o.durations.count;
    durations.sum_seconds += o.durations.sum_seconds;
    return *this;
}

} // namespace portico::host
