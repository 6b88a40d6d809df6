// limits_idle_test.cpp — many mostly-idle connections in `mode: threads`
// (issue 4): one worker thread each, with small stacks, every one served,
// none refused or dropped, and the host still answers a newcomer at once.
// tests/bench/idle_connections measures the memory this costs.
#include "harness/ConfigBuilder.h"
#include "harness/ConnectStorm.h"
#include "harness/Paths.h"
#include "harness/PluginDir.h"
#include "harness/PorticoProcess.h"
#include "harness/ProcStatus.h"
#include "harness/Slowdown.h"
#include "harness/Sockets.h"
#include "harness/TcpClient.h"
#include "harness/TempDir.h"

#include <gtest/gtest.h>

#include <algorithm>
#include <fstream>
#include <iostream>

namespace portico::test {
namespace {

using Clock = std::chrono::steady_clock;

long long read_number(const char *file) {
    std::ifstream in(file);
    long long n = -1;
    in >> n;
    return n;
}

// As many as wanted, or fewer if this machine's limits say so: each side
// needs a descriptor per connection, and the host a thread (pids are shared
// with everything else running here).
int feasible_connections(int wanted, std::string &why) {
    const auto fds = static_cast<long long>(raise_fd_limit(static_cast<std::size_t>(wanted) + 1024));
    const long long pid_max = read_number("/proc/sys/kernel/pid_max");
    const long long threads_max = read_number("/proc/sys/kernel/threads-max");
    long long n = wanted;
    if (fds - 256 < n) {
        n = fds - 256;
        why += "RLIMIT_NOFILE hard limit " + std::to_string(fds) + "; ";
    }
    if (pid_max > 0 && pid_max / 3 < n) {
        n = pid_max / 3;
        why += "pid_max " + std::to_string(pid_max) + "; ";
    }
    if (threads_max > 0 && threads_max / 3 < n) {
        n = threads_max / 3;
        why += "threads-max " + std::to_string(threads_max) + "; ";
    }
    return static_cast<int>(std::max(0LL, n));
}

TEST(LimitsIdle, TenThousandIdleConnectionsAreEachServedByAThread) {
    std::string limited_by;
    const int n = feasible_connections(scaled(10'000, 2'000), limited_by);
    if (n < 500) GTEST_SKIP() << "only " << n << " connections fit this machine's limits: " << limited_by;
    if (!limited_by.empty()) std::cout << "holding " << n << " connections, limited by " << limited_by << "\n";
    RecordProperty("idle_connections", n);

    TempDir dir;
    ConfigBuilder config;
    config.plugin_dir(make_plugin_dir(dir, {shipped_plugin("upper")}));
    config.service("upper", "upper.upper")
        .option("threads", "{min: 1, max: " + std::to_string(n + 8) + ", stack: " + scaled<std::string>("64KiB", "256KiB") + "}")
        .option("max_connections", std::to_string(n + 8))
        .option("backlog", "1024");
    PorticoProcess host(dir, config.yaml());
    ASSERT_TRUE(host.wait_ready());
    const auto port = host.port("upper");
    const long long rss_before = rss_kib(host.pid());

    const auto start = Clock::now();
    StormResult idle = connect_storm({.port = port, .attempts = n, .in_flight = 256, .attempt_timeout = 10s});
    const auto took = std::chrono::duration_cast<Millis>(Clock::now() - start);

    EXPECT_EQ(idle.served, n) << idle.first_failure;
    EXPECT_EQ(idle.hung, 0) << idle.first_failure;
    EXPECT_EQ(idle.refused, 0) << "the host refused idle connections within its limits";
    for (const auto &[said, count] : idle.refused_saying) ADD_FAILURE() << count << " refused saying \"" << said << "\"";
    const long long threads = thread_count(host.pid());
    EXPECT_GE(threads, n) << "one worker per connection in mode threads";
    const long long rss = rss_kib(host.pid());
    std::cout << n << " idle connections opened in " << took.count() << " ms; host threads " << threads << ", RSS "
              << rss_before << " → " << rss << " KiB (" << (rss - rss_before) * 1024 / std::max(1, n)
              << " B per connection)\n";

    // A newcomer is answered at once, idle crowd or not.
    const auto newcomer_start = Clock::now();
    TcpClient newcomer(port);
    newcomer.send("still room\n");
    EXPECT_EQ(newcomer.read_line(), "STILL ROOM\n");
    EXPECT_LT(std::chrono::duration_cast<Millis>(Clock::now() - newcomer_start), scaled<Millis>(1000ms, 5000ms));
    idle.held.close_all();
}

} // namespace
} // namespace portico::test
