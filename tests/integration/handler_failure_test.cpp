// handler_failure_test.cpp — a handler that throws costs its own connection
// and nothing else, in both modes: the host logs it and keeps serving.
#include "harness/ConfigBuilder.h"
#include "harness/Modes.h"
#include "harness/Paths.h"
#include "harness/PluginDir.h"
#include "harness/PorticoProcess.h"
#include "harness/TcpClient.h"
#include "harness/TempDir.h"

#include <gtest/gtest.h>

#include <string>

namespace portico::test {
namespace {

// The tests below run in mode threads and mode events alike
// (Modes/HandlerFailure.*/threads and …/events): in mode events the throw
// unwinds only its own fiber, and the loop thread goes on.
class HandlerFailure : public ::testing::TestWithParam<std::string> {};

TEST_P(HandlerFailure, ThrowingHandlerClosesOnlyItsConnectionAndTheServiceGoesOn) {
    TempDir dir;
    ConfigBuilder config;
    config.plugin_dir(make_plugin_dir(dir, {test_plugin("throwing")}));
    in_mode(config.service("shouty", "throwing.boom"), GetParam());
    PorticoProcess host(dir, config.yaml());
    ASSERT_TRUE(host.wait_ready());
    const auto port = host.port("shouty");

    TcpClient doomed(port);
    TcpClient bystander(port);
    doomed.send("hi\n");
    EXPECT_EQ(doomed.read_line(), "HI\n");
    bystander.send("first\n");
    EXPECT_EQ(bystander.read_line(), "FIRST\n");

    doomed.send("boom\n");
    const auto rest = doomed.read_until_closed(5s);
    ASSERT_TRUE(rest.has_value()) << "the connection whose handler threw was not closed";
    EXPECT_EQ(*rest, "") << "no reply is expected to the line that made the handler throw";

    const auto line = host.wait_for_log_line({"threw"}, 5s);
    ASSERT_TRUE(line) << "the host did not log that the handler threw";
    EXPECT_NE(line->find("boom requested by client"), std::string::npos)
        << "the exception's message is missing: " << *line;
    EXPECT_NE(line->find("shouty"), std::string::npos) << "the service's name is missing: " << *line;
    EXPECT_NE(line->find(peer_of(doomed)), std::string::npos) << "the peer is missing: " << *line;

    bystander.send("still here\n");
    EXPECT_EQ(bystander.read_line(), "STILL HERE\n") << "another connection of the same service was disturbed";

    // Many more, each its own handler (fiber) unwound, while the bystander stays open.
    for (int i = 0; i < 20; ++i) {
        TcpClient next(port);
        next.send("line " + std::to_string(i) + "\nboom " + std::to_string(i) + "\n");
        EXPECT_EQ(next.read_line(), "LINE " + std::to_string(i) + "\n");
        EXPECT_TRUE(next.read_until_closed(5s).has_value()) << "throw #" << i << " did not close its connection";
    }
    EXPECT_TRUE(wait_until([&] { return host.count_log_lines({"threw"}) >= 21; }, 5s)) << "every throw is logged";
    bystander.send("after all that\n");
    EXPECT_EQ(bystander.read_line(), "AFTER ALL THAT\n");
    TcpClient fresh(port);
    fresh.send("fresh\n");
    EXPECT_EQ(fresh.read_line(), "FRESH\n") << "the service stopped accepting after its handlers threw";
    EXPECT_TRUE(host.running());
}

INSTANTIATE_TEST_SUITE_P(Modes, HandlerFailure, ::testing::Values("threads", "events"),
                         [](const auto &info) { return info.param; });

TEST(HandlerFailure, ThrowingServiceDoesNotDisturbAnotherService) {
    TempDir dir;
    ConfigBuilder config;
    config.plugin_dir(make_plugin_dir(dir, {test_plugin("throwing"), shipped_plugin("upper")}));
    config.service("shouty", "throwing.boom");
    config.service("upper", "upper.upper");
    PorticoProcess host(dir, config.yaml());
    ASSERT_TRUE(host.wait_ready());

    TcpClient calm(host.port("upper"));
    calm.send("before\n");
    EXPECT_EQ(calm.read_line(), "BEFORE\n");

    for (int i = 0; i < 3; ++i) { // repeated failures, not just one
        TcpClient doomed(host.port("shouty"));
        doomed.send("boom " + std::to_string(i) + "\n");
        EXPECT_TRUE(doomed.read_until_closed(5s).has_value()) << "throw #" << i << " did not close its connection";
    }
    EXPECT_TRUE(host.wait_for_log_line({"threw"}, 5s));

    calm.send("after\n");
    EXPECT_EQ(calm.read_line(), "AFTER\n") << "an open connection to the other service was disturbed";
    TcpClient fresh(host.port("upper"));
    fresh.send("fresh\n");
    EXPECT_EQ(fresh.read_line(), "FRESH\n");
    TcpClient shouty(host.port("shouty"));
    shouty.send("quiet now\n");
    EXPECT_EQ(shouty.read_line(), "QUIET NOW\n") << "the throwing service itself stopped serving";
}

} // namespace
} // namespace portico::test
