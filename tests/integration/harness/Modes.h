// Modes.h — the two ways a TCP service runs its handlers, for tests that
// check one behaviour in both: TEST_P over "threads" and "events".
//
//   class Serving : public ::testing::TestWithParam<std::string> {};
//   TEST_P(Serving, X) { in_mode(config.service("upper", "upper.upper"), GetParam()); … }
//   INSTANTIATE_TEST_SUITE_P(Modes, Serving, ::testing::Values("threads", "events"),
//                            [](const auto &info) { return info.param; });
#pragma once

#include "harness/ConfigBuilder.h"

#include <string>

namespace portico::test {

// The keys that put `service` in `mode`: "threads" is `mode: threads` with
// the host's default pool; "events" is `mode: events` on one event loop, so
// every connection of the test shares one thread (the case in which a handler
// that holds up its loop would show). Throws HarnessError for another mode.
ServiceSpec &in_mode(ServiceSpec &service, const std::string &mode);

// The same keys as lines of a service entry ("    mode: …\n"), for
// AdminHostSpec's `extra`.
std::string mode_keys(const std::string &mode);

} // namespace portico::test
