// events_limits_admission_test.cpp — a flood against max_connections on one
// event loop: refused at once with the busy_message, logged and counted in
// /status, while a served client on the same loop keeps its pace. Allow/deny,
// per_source_max and accept_rate in mode events are the Modes/LimitsAdmission
// tests in limits_admission_test.cpp.
#include "harness/AdminHost.h"
#include "harness/AdminStatus.h"
#include "harness/Chatter.h"
#include "harness/ConfigBuilder.h"
#include "harness/ConnectStorm.h"
#include "harness/Json.h"
#include "harness/Modes.h"
#include "harness/Paths.h"
#include "harness/PluginDir.h"
#include "harness/Refusal.h"
#include "harness/Slowdown.h"
#include "harness/Sockets.h"
#include "harness/TcpClient.h"
#include "harness/TempDir.h"

#include <gtest/gtest.h>

#include <algorithm>
#include <iostream>
#include <string>

namespace portico::test {
namespace {

// 600 attempts against max_connections 50 on one loop: the 49 that fit next
// to a steady client are served, every other one is refused at once with the
// busy line and counted, none hangs, and the steady client keeps its pace.
TEST(EventsAdmission, MaxConnectionsFloodIsRefusedPromptlyAndCounted) {
    constexpr int kMaxConnections = 50;
    constexpr int kAttempts = 600;
    const std::size_t fd_limit = raise_fd_limit(2048);
    const int window = static_cast<int>(std::min<std::size_t>(100, fd_limit > 200 ? fd_limit - 200 : 0));
    if (window < 16) GTEST_SKIP() << "RLIMIT_NOFILE is " << fd_limit << "; this test needs about 300 descriptors";

    TempDir dir;
    AdminHostSpec spec;
    spec.plugin_dir = make_plugin_dir(dir, {shipped_plugin("upper")});
    spec.services = {{"upper", "upper.upper",
                      mode_keys("events") + "    max_connections: " + std::to_string(kMaxConnections) +
                          "\n    busy_message: " + yaml_quote(kBusyMessage) + "\n"}};
    AdminHost host(dir, spec);
    const auto port = host.port("upper");

    TcpClient steady(port);
    ASSERT_EQ(probe(steady), "PING\n");
    Chatter pacer(steady, {.line = "still here\n", .reply = "STILL HERE\n", .pause = 0ms, .timeout = 2s});
    StormResult storm = connect_storm({.port = port, .attempts = kAttempts, .in_flight = window});
    const ChatterResult paced = pacer.stop();

    // The steady client holds the 50th slot.
    expect_flood_refused(storm, kAttempts, kMaxConnections - 1);

    ASSERT_TRUE(paced.error.empty()) << "the steady client failed during the flood: " << paced.error;
    ASSERT_FALSE(paced.latencies.empty());
    const Millis worst = *std::max_element(paced.latencies.begin(), paced.latencies.end());
    std::cout << "steady client during the flood: " << paced.latencies.size() << " round trips, max " << worst.count()
              << " ms; slowest attempt " << storm.slowest.count() << " ms\n";
    // Starvation, not speed (tests/bench measures latency).
    EXPECT_LT(worst, 2000ms) << "an admitted client was starved by the flood";

    EXPECT_TRUE(
        host.process().wait_for_log_line({"service 'upper': refused 127.0.0.1:", "max_connections reached"}, 5s));
    const Json status = Json::parse(host.get("/status").body);
    const Json &upper = service_named(status, "upper");
    EXPECT_EQ(upper["mode"].string(), "events");
    EXPECT_EQ(upper["connections"]["refused"].number(), storm.refused) << "every refusal is counted";

    // The held slots come back: once they close, new clients are served again.
    storm.held.close_all();
    EXPECT_TRUE(wait_until([&] { return probe_new(port) == "PING\n"; }, 10s, 50ms));
}

} // namespace
} // namespace portico::test
