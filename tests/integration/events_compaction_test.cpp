// events_compaction_test.cpp — parked stacks moved to the heap (issue 20):
// in mode events a handler that declares stack_private has its fiber's
// stack pages given back while it waits (its frames copied out), and a
// thousand such handlers, woken at once, each find the locals they kept;
// a handler without the trait keeps its stack page, never compacted.
#include "harness/ConfigBuilder.h"
#include "harness/Deadline.h"
#include "harness/Paths.h"
#include "harness/PluginDir.h"
#include "harness/PorticoProcess.h"
#include "harness/Sockets.h"
#include "harness/TcpClient.h"
#include "harness/TempDir.h"

#include <gtest/gtest.h>

#include <fstream>
#include <iostream>
#include <sstream>
#include <string>
#include <thread>
#include <vector>

#include <sys/types.h>

namespace portico::test {
namespace {

constexpr int kConnections = 1000;
constexpr long long kPageBytes = 4096;

#if defined(__SANITIZE_ADDRESS__)
// The host does not compact under AddressSanitizer (event/Fiber.cpp: its
// fake stacks and redzones), and keeps locals off the real stack.
constexpr bool kAsan = true;
#else
constexpr bool kAsan = false;
#endif

// Resident bytes of the host's fiber stack regions: the anonymous mappings
// of just under 1GiB that event/StackPool.cpp carves stacks from; -1 when
// there is none (a kernel without guard markers maps each stack alone).
long long stack_region_rss_bytes(pid_t pid) {
    std::ifstream smaps("/proc/" + std::to_string(pid) + "/smaps");
    std::string line;
    long long total = 0;
    bool found = false;
    bool in_region = false;
    while (std::getline(smaps, line)) {
        std::istringstream fields(line);
        std::string key;
        long long kib = 0;
        fields >> key;
        if (key == "Size:") {
            fields >> kib;
            in_region = kib > 1024 * 1024 - 1024 && kib <= 1024 * 1024;
            found = found || in_region;
        } else if (key == "Rss:" && in_region) {
            fields >> kib;
            total += kib * 1024;
        }
    }
    return found ? total : -1;
}

struct Case {
    const char *name;
    const char *handler;
    bool compacted; // the handler declares stack_private
};

class EventsCompaction : public ::testing::TestWithParam<Case> {};

TEST_P(EventsCompaction, ParkedHandlersKeepTheirLocals) {
    const Case &c = GetParam();
    const std::size_t fds = raise_fd_limit(kConnections + 512);
    if (fds < kConnections + 256)
        GTEST_SKIP() << "RLIMIT_NOFILE is " << fds << "; this test needs " << kConnections + 256 << " descriptors";

    TempDir dir;
    ConfigBuilder config;
    config.plugin_dir(make_plugin_dir(dir, {test_plugin("stack_keeper")}));
    config.service("keeper", c.handler)
        .events(1, "256KiB")
        .option("max_connections", std::to_string(kConnections + 8))
        .option("backlog", "1024");
    PorticoProcess host(dir, config.yaml());
    ASSERT_TRUE(host.wait_ready());
    const auto port = host.port("keeper");

    std::vector<TcpClient> clients;
    clients.reserve(kConnections);
    for (int i = 0; i < kConnections; ++i) {
        clients.emplace_back(port);
        clients.back().send("token-" + std::to_string(i) + "\n");
    }
    for (int i = 0; i < kConnections; ++i)
        ASSERT_EQ(clients[i].read_line(), "held\n") << "connection " << i;

    // Each handler touched 16KiB of stack first: the sweep gives that back
    // within two seconds, and compacts a stack_private handler's frames too.
    long long per_connection = 0;
    const auto settled = [&](long long bound) {
        return wait_until(
            [&] {
                const long long rss = stack_region_rss_bytes(host.pid());
                per_connection = rss / kConnections;
                return rss >= 0 && per_connection <= bound;
            },
            10s, 100ms);
    };
    if (!kAsan && stack_region_rss_bytes(host.pid()) >= 0) {
        if (c.compacted) {
            EXPECT_TRUE(settled(kPageBytes / 4))
                << "the parked stacks were not given back: " << per_connection << " B resident per connection";
        } else {
            EXPECT_TRUE(settled(kPageBytes * 5 / 2))
                << "the dead stack was not given back: " << per_connection << " B resident per connection";
            // Given back in the same sweep that would have compacted it.
            EXPECT_GE(stack_region_rss_bytes(host.pid()) / kConnections, kPageBytes * 9 / 10)
                << "a handler without stack_private lost its parked stack page";
        }
        std::cout << c.name << ": stack region " << per_connection << " B resident per parked connection\n";
    } else {
        // Nothing to measure by (ASan, or no stack regions): the handlers
        // are at least parked through two sweeps before they are woken.
        std::this_thread::sleep_for(2500ms);
    }

    for (int i = 0; i < kConnections; ++i)
        clients[i].send("go\n");
    for (int i = 0; i < kConnections; ++i)
        EXPECT_EQ(clients[i].read_line(), "token-" + std::to_string(i) + " intact\n") << "connection " << i;
}

INSTANTIATE_TEST_SUITE_P(EventsHandlers, EventsCompaction,
                         ::testing::Values(Case{"StackPrivate", "stack_keeper.keeper", true},
                                           Case{"WithoutTheTrait", "stack_keeper.shared", false}),
                         [](const ::testing::TestParamInfo<Case> &info) { return std::string(info.param.name); });

} // namespace
} // namespace portico::test
