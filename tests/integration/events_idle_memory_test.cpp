// events_idle_memory_test.cpp — what an idle connection costs the host in
// mode events (issue 20): after one round trip each, thousands of echo or
// upper connections add no memory mapping each (where the kernel has guard
// markers) and a few KiB of resident memory each, not a stack or a buffer.
#include "harness/ConfigBuilder.h"
#include "harness/ConnectStorm.h"
#include "harness/Deadline.h"
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

#include <sys/mman.h>
#include <unistd.h>

namespace portico::test {
namespace {

constexpr int kConnections = 2000;
// The target is 4KiB at 15 000 connections, which echo and upper
// meet by having their parked stacks compacted (stack_private: about 3.3KiB
// each there, docs/bench.md). At 2 000 the host's own growth (epoll, session
// table, allocator slack) weighs more per connection, and a CI machine's
// allocator may differ: the bound leaves room for that and still fails a
// connection that keeps a stack page (4KiB) besides its heap objects.
constexpr long long kRssBoundBytes = 4 * 1024;

// Linux 6.13's guard markers: where they are missing the host maps each
// stack on its own (two mappings), as it says at start.
bool kernel_has_guard_markers() {
    const long page = ::sysconf(_SC_PAGESIZE);
    void *probe =
        ::mmap(nullptr, static_cast<size_t>(page), PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    if (probe == MAP_FAILED) return false;
    const bool supported = ::madvise(probe, static_cast<size_t>(page), 102 /* MADV_GUARD_INSTALL */) == 0;
    ::munmap(probe, static_cast<size_t>(page));
    return supported;
}

struct Case {
    const char *name;
    const char *plugin;
    const char *handler;
    const char *probe;
    const char *reply;
};

class EventsIdleMemory : public ::testing::TestWithParam<Case> {};

TEST_P(EventsIdleMemory, IdleConnectionsCostNoMappingAndAFewKiB) {
    const Case &c = GetParam();
    const std::size_t fds = raise_fd_limit(kConnections + 1024);
    if (fds < kConnections + 512)
        GTEST_SKIP() << "RLIMIT_NOFILE is " << fds << " even after raising it to the hard limit; this test needs "
                     << kConnections + 512 << " descriptors (ulimit -Hn)";

    TempDir dir;
    ConfigBuilder config;
    config.plugin_dir(make_plugin_dir(dir, {shipped_plugin(c.plugin)}));
    config.service(c.plugin, c.handler)
        .events(1, "256KiB")
        .option("max_connections", std::to_string(kConnections + 8))
        .option("backlog", "1024");
    PorticoProcess host(dir, config.yaml());
    ASSERT_TRUE(host.wait_ready());
    const auto port = host.port(c.plugin);
    {
        TcpClient warmup(port); // what the first session starts lazily is up
        warmup.send(c.probe);
        ASSERT_EQ(warmup.read_line(), c.reply);
    }
    const long long rss_before = rss_kib(host.pid());
    const long long maps_before = mapping_count(host.pid());

    StormResult idle = connect_storm({.port = port,
                                      .attempts = kConnections,
                                      .in_flight = 256,
                                      .probe = c.probe,
                                      .reply = c.reply,
                                      .attempt_timeout = 10s});
    ASSERT_EQ(idle.served, kConnections) << idle.first_failure;

    long long maps = 0;
    long long per_connection = 0;
    // Parked fibers have their stacks compacted within two seconds
    // (EventLoop's stack sweep): what is measured is where it settles.
    const bool settled = wait_until(
        [&] {
            maps = mapping_count(host.pid());
            per_connection = (rss_kib(host.pid()) - rss_before) * 1024 / kConnections;
            return maps - maps_before < kConnections / 100 && (kSanitized || per_connection <= kRssBoundBytes);
        },
        10s, 100ms);
    std::cout << c.name << ": " << kConnections << " idle connections: mappings " << maps_before << " -> " << maps
              << ", RSS " << per_connection << " B per connection\n";
    RecordProperty("rss_bytes_per_connection", static_cast<int>(per_connection));
    RecordProperty("mappings_added", static_cast<int>(maps - maps_before));
    if (kernel_has_guard_markers()) {
        EXPECT_LT(maps - maps_before, kConnections / 100) << "idle connections still cost memory mappings each";
    }
    if (!kSanitized) { // sanitizers keep shadow memory and fake stacks per connection
        EXPECT_LE(per_connection, kRssBoundBytes) << "an idle connection costs more resident memory than it should";
    }
    EXPECT_TRUE(settled || !kernel_has_guard_markers() || kSanitized);

    // Connections parked all along (their dead stack given back) still
    // answer, and a newcomer is served.
    for (int i = 0; i < 10; ++i) {
        TcpClient parked = TcpClient::adopt(idle.held.take_one(), port);
        parked.send(c.probe);
        EXPECT_EQ(parked.read_line(), c.reply) << "parked connection " << i;
    }
    TcpClient newcomer(port);
    newcomer.send(c.probe);
    EXPECT_EQ(newcomer.read_line(), c.reply);
}

INSTANTIATE_TEST_SUITE_P(Plugins, EventsIdleMemory,
                         ::testing::Values(Case{"echo", "echo", "echo.echo", "ping\n", "ping\n"},
                                           Case{"upper", "upper", "upper.upper", "ping\n", "PING\n"}),
                         [](const ::testing::TestParamInfo<Case> &info) { return std::string(info.param.name); });

} // namespace
} // namespace portico::test
