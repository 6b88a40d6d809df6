// wakeup_test.cpp — a thread the plugin started itself (the doorbell test
// plugin's ringer) signals a notifier, and the session waiting on its socket
// or that notifier wakes: a fiber on its event loop in mode events, a worker
// blocked in poll(2) in mode threads.
#include "harness/ConfigBuilder.h"
#include "harness/Paths.h"
#include "harness/PluginDir.h"
#include "harness/PorticoProcess.h"
#include "harness/TcpClient.h"
#include "harness/TempDir.h"

#include <gtest/gtest.h>

#include <memory>
#include <string>

namespace portico::test {
namespace {

enum class Mode { threads, events };

class Wakeup : public ::testing::TestWithParam<Mode> {};

TEST_P(Wakeup, ASignalFromAPluginThreadWakesAWaitingSession) {
    TempDir dir;
    ConfigBuilder config;
    config.plugin_dir(make_plugin_dir(dir, {test_plugin("doorbell")}));
    ServiceSpec &bell = config.service("bell", "doorbell.bell");
    if (GetParam() == Mode::threads)
        bell.threads(2, 8);
    else
        bell.events(1);
    PorticoProcess host(dir, config.yaml());
    ASSERT_TRUE(host.wait_ready()) << host.log_text();
    const auto port = host.port("bell");

    TcpClient waiter(port);
    waiter.send("wait\n");
    ASSERT_EQ(waiter.read_line(), "ready\n");
    for (int round = 0; round < 3; ++round) {
        TcpClient ringer(port);
        ringer.send("ring\n");
        ASSERT_EQ(ringer.read_line(), "asked\n");
        EXPECT_EQ(waiter.read_line(), "woken\n") << "round " << round << ": the plugin thread's signal was lost";
    }
    // The same wait still ends on the peer's bytes; end of stream ends the session.
    waiter.send("bye\n");
    waiter.shutdown_write();
    EXPECT_TRUE(waiter.read_until_closed()) << "the session did not end at end of stream";
    EXPECT_TRUE(host.running());
}

INSTANTIATE_TEST_SUITE_P(Modes, Wakeup, ::testing::Values(Mode::threads, Mode::events),
                         [](const ::testing::TestParamInfo<Mode> &info) {
                             return info.param == Mode::threads ? "Threads" : "Events";
                         });

} // namespace
} // namespace portico::test
