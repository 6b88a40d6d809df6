// reload_drain_test.cpp — drain_timeout counts from when a session's own
// plugin version was replaced (issue 14 item 2): two reloads close together
// must not cut the sessions of the version replaced second when the first
// reload's drain_timeout runs out. In both stream modes.
#include "harness/ConfigBuilder.h"
#include "harness/Deadline.h"
#include "harness/Elapsed.h"
#include "harness/FlipPlugin.h"
#include "harness/HarnessError.h"
#include "harness/Modes.h"
#include "harness/Paths.h"
#include "harness/PluginFiles.h"
#include "harness/PorticoProcess.h"
#include "harness/Slowdown.h"
#include "harness/TcpClient.h"

#include <gtest/gtest.h>

#include <string>
#include <thread>

namespace portico::test {
namespace {

class ReloadDrain : public ::testing::TestWithParam<std::string> {};

// Version A (v1) is replaced by B (v2) at t0, B by a new load of A (v3) at
// t0+2s, drain_timeout 3s: the session on v1 is closed at t0+3s, the one on
// v2 is served on past that and closed only at t0+5s.
TEST_P(ReloadDrain, ASessionIsClosedOnlyDrainTimeoutAfterItsOwnVersionWasReplaced) {
    FlipDir setup;
    ConfigBuilder config;
    config.plugin_dir(setup.plugins).plugins_option("drain_timeout", "3s");
    in_mode(config.service("flip", "flip.reply"), GetParam());
    PorticoProcess host(setup.dir, config.yaml());
    ASSERT_TRUE(host.wait_ready());
    const auto port = host.port("flip");

    TcpClient on_v1(port);
    on_v1.send("1\n");
    ASSERT_EQ(on_v1.read_line(), "A 1\n");

    replace_by_rename(test_plugin("flip_b"), setup.installed);
    ASSERT_TRUE(host.wait_for_log("service 'flip' now uses flip B", scaled<Millis>(5s, 15s)));
    const auto v1_replaced = Clock::now();
    TcpClient on_v2(port);
    on_v2.send("2\n");
    ASSERT_EQ(on_v2.read_line(), "B 2\n");

    std::this_thread::sleep_until(v1_replaced + 2s);
    const auto before = host.count_log_lines({"service 'flip' now uses flip A"});
    replace_by_rename(test_plugin("flip_a"), setup.installed);
    ASSERT_TRUE(wait_until([&] { return host.count_log_lines({"service 'flip' now uses flip A"}) > before; },
                           scaled<Millis>(5s, 15s)));

    // v1's drain_timeout runs out about a second from now.
    EXPECT_TRUE(on_v1.read_until_closed(scaled<Millis>(5s, 15s)).has_value())
        << "the session on the first version outlived drain_timeout";
    EXPECT_TRUE(host.wait_for_log(
        "service 'flip': closed 1 session(s) still on an old plugin version after drain_timeout", 5s));
    std::string reply;
    try {
        on_v2.send("still\n");
        reply = on_v2.read_line().value_or("<end of stream>");
    } catch (const HarnessError &e) {
        reply = e.what();
    }
    EXPECT_EQ(reply, "B still\n") << "the session on the second version was cut when the first version's "
                                     "drain_timeout ran out, though its own version was replaced only ~1s earlier";
    EXPECT_TRUE(on_v2.read_until_closed(scaled<Millis>(6s, 20s)).has_value())
        << "the session on the second version outlived its own drain_timeout";

    TcpClient on_v3(port);
    on_v3.send("3\n");
    EXPECT_EQ(on_v3.read_line(), "A 3\n");
}

INSTANTIATE_TEST_SUITE_P(Modes, ReloadDrain, ::testing::Values("threads", "events"),
                         [](const auto &info) { return info.param; });

} // namespace
} // namespace portico::test
