// Elapsed.h — how long something took, for tests that time the host: a
// refusal that must be immediate, a timeout that must fire neither early nor
// late.
#pragma once

#include "harness/Deadline.h"

#include <chrono>

namespace portico::test {

using Clock = std::chrono::steady_clock;

// The time since `start`, in whole milliseconds.
inline Millis since(Clock::time_point start) {
    return std::chrono::duration_cast<Millis>(Clock::now() - start);
}

} // namespace portico::test
