// events_scale_test.cpp — what `mode: events` is for: thousands of mostly
// idle connections on one event-loop thread, every one served, the host's
// thread count flat and its memory a fraction of a stack per connection;
// a newcomer is still answered at once.
#include "harness/ConfigBuilder.h"
#include "harness/ConnectStorm.h"
#include "harness/Elapsed.h"
#include "harness/Paths.h"
#include "harness/PluginDir.h"
#include "harness/PorticoProcess.h"
#include "harness/ProcStatus.h"
#include "harness/Slowdown.h"
#include "harness/Sockets.h"
#include "harness/TcpClient.h"
#include "harness/TempDir.h"

#include <gtest/gtest.h>

#include <iostream>
#include <string>

namespace portico::test {
namespace {

TEST(EventsScale, TwoThousandConnectionsOnOneLoopAddNoThreads) {
    constexpr int kConnections = 2000;
    constexpr long long kStackKib = 256; // the fiber stack size configured below
    // Each connection costs a descriptor on both sides (the host inherits our limit).
    const std::size_t fds = raise_fd_limit(kConnections + 1024);
    if (fds < kConnections + 512)
        GTEST_SKIP() << "RLIMIT_NOFILE is " << fds << " even after raising it to the hard limit; this test needs "
                     << kConnections + 512 << " descriptors (ulimit -Hn)";

    TempDir dir;
    ConfigBuilder config;
    config.plugin_dir(make_plugin_dir(dir, {shipped_plugin("upper")}));
    config.service("upper", "upper.upper")
        .events(1, std::to_string(kStackKib) + "KiB")
        .option("max_connections", std::to_string(kConnections + 8))
        .option("backlog", "1024");
    PorticoProcess host(dir, config.yaml());
    ASSERT_TRUE(host.wait_ready());
    const auto port = host.port("upper");
    {
        TcpClient warmup(port); // the loop and whatever it starts lazily are up
        warmup.send("warm\n");
        ASSERT_EQ(warmup.read_line(), "WARM\n");
    }
    const long long threads_before = thread_count(host.pid());
    const long long rss_before = rss_kib(host.pid());

    const auto start = Clock::now();
    StormResult idle =
        connect_storm({.port = port, .attempts = kConnections, .in_flight = 256, .attempt_timeout = 10s});
    const Millis took = since(start);

    EXPECT_EQ(idle.served, kConnections) << idle.first_failure;
    EXPECT_EQ(idle.hung, 0) << idle.first_failure;
    EXPECT_EQ(idle.refused, 0) << "the host refused connections within max_connections";
    EXPECT_EQ(idle.connect_failed, 0) << idle.first_failure;
    const long long threads = thread_count(host.pid());
    const long long rss = rss_kib(host.pid());
    const long long per_connection_bytes = (rss - rss_before) * 1024 / kConnections;
    std::cout << kConnections << " connections served in " << took.count() << " ms; host threads " << threads_before
              << " → " << threads << ", RSS " << rss_before << " → " << rss << " KiB (" << per_connection_bytes
              << " B per connection)\n";
    RecordProperty("host_threads", static_cast<int>(threads));
    RecordProperty("rss_bytes_per_connection", static_cast<int>(per_connection_bytes));
    EXPECT_LE(threads, threads_before + 4) << "the host's threads grew with the connections";
    if (!kSanitized) {
        EXPECT_LT(per_connection_bytes, kStackKib * 1024 / 2)
            << "each idle connection keeps more than half its fiber stack resident";
    }

    // Next to 2000 open sessions on the one loop, a newcomer is answered at once.
    const auto newcomer_start = Clock::now();
    TcpClient newcomer(port);
    newcomer.send("still room\n");
    EXPECT_EQ(newcomer.read_line(), "STILL ROOM\n");
    EXPECT_LT(since(newcomer_start), scaled<Millis>(1000ms, 5000ms));

    // When they all leave, the host is still there and still serving.
    idle.held.close_all();
    newcomer.send("after\n");
    EXPECT_EQ(newcomer.read_line(), "AFTER\n");
    EXPECT_TRUE(host.running());
}

} // namespace
} // namespace portico::test
