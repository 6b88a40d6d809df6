// events_stall_test.cpp — a handler that blocks outside Stream calls (the
// test plugin slow.reply sleeps per line) stalls its event loop; the host
// notices after about a second and says which service's loop is stalled,
// while other services, on their own loops, are served meanwhile.
#include "harness/ConfigBuilder.h"
#include "harness/Elapsed.h"
#include "harness/Paths.h"
#include "harness/PluginDir.h"
#include "harness/PorticoProcess.h"
#include "harness/SocketQueues.h"
#include "harness/TcpClient.h"
#include "harness/TempDir.h"

#include <gtest/gtest.h>

#include <string>

namespace portico::test {
namespace {

TEST(EventsStall, ABlockingHandlerIsReportedAsAStalledLoop) {
    TempDir dir;
    ConfigBuilder config;
    config.plugin_dir(make_plugin_dir(dir, {test_plugin("slow"), shipped_plugin("upper")}));
    config.service("sleepy", "slow.reply").events(1).setting("delay_ms", "3000");
    config.service("brisk", "upper.upper").events(1);
    PorticoProcess host(dir, config.yaml());
    ASSERT_TRUE(host.wait_ready());

    TcpClient brisk(host.port("brisk"));
    brisk.send("before\n");
    ASSERT_EQ(brisk.read_line(), "BEFORE\n");

    TcpClient sleeper(host.port("sleepy"));
    // No stall can begin before the request is sent: the time since then
    // bounds how long the loop has been stalled when the warning comes.
    const auto stalled_since = Clock::now();
    sleeper.send("nap\n");
    // The handler has the line once the kernel's receive queue is empty; its
    // loop is blocked in the plugin's sleep from then on, for 3 s.
    ASSERT_TRUE(wait_server_read_all(sleeper, 2s)) << "the host never read the request";
    EXPECT_TRUE(lines_containing(host.log_text(), {"is stalled"}).empty()) << "a stall reported before one began";

    // Meanwhile another service is served at its usual pace.
    for (int i = 0; i < 5; ++i) {
        brisk.send("during " + std::to_string(i) + "\n");
        EXPECT_EQ(brisk.read_line(500ms), "DURING " + std::to_string(i) + "\n")
            << "a service on its own loop waited for the stalled one";
    }

    const auto warning = host.wait_for_log_line({"event loop", "is stalled", "sleepy"}, 2500ms);
    const Millis noticed = since(stalled_since);
    ASSERT_TRUE(warning) << "no warning naming the stalled loop of 'sleepy' within 2.5 s of a 3 s stall";
    EXPECT_GE(noticed, 500ms) << "reported as stalled long before a second had passed: " << *warning;

    // The stall ends by itself: the reply comes, and the loop serves again.
    EXPECT_EQ(sleeper.read_line(5s), "done: nap\n");
    TcpClient next(host.port("sleepy"));
    EXPECT_EQ(next.round_trip(""), "") << "a new connection on the formerly stalled loop is served";
    // Checked once the watchers have seen the whole stall through (the
    // line below is written after it), not the moment the first warning came.
    EXPECT_TRUE(host.wait_for_log_line({"sleepy", "serves again after a stall"}, 5s)) << host.log_text();
    EXPECT_TRUE(lines_containing(host.log_text(), {"is stalled", "brisk"}).empty())
        << "the healthy service was reported as stalled";
}

} // namespace
} // namespace portico::test
