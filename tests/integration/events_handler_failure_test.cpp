// events_handler_failure_test.cpp — in `mode: events` a handler that throws
// unwinds its own fiber only: the host logs it, closes that connection, and
// the other connections on the same loop thread go on.
#include "harness/ConfigBuilder.h"
#include "harness/Paths.h"
#include "harness/PluginDir.h"
#include "harness/PorticoProcess.h"
#include "harness/TcpClient.h"
#include "harness/TempDir.h"

#include <gtest/gtest.h>

#include <string>

namespace portico::test {
namespace {

TEST(EventsHandlerFailure, ThrowingHandlerClosesOnlyItsConnectionAndTheLoopGoesOn) {
    TempDir dir;
    ConfigBuilder config;
    config.plugin_dir(make_plugin_dir(dir, {test_plugin("throwing")}));
    config.service("shouty", "throwing.boom").events(1);
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
    EXPECT_NE(line->find("peer 127.0.0.1:" + std::to_string(doomed.local_port())), std::string::npos)
        << "the peer is missing: " << *line;

    bystander.send("still here\n");
    EXPECT_EQ(bystander.read_line(), "STILL HERE\n") << "another connection on the same loop was disturbed";

    // Many more, each with its own fiber unwound, while the bystander stays open.
    for (int i = 0; i < 20; ++i) {
        TcpClient next(port);
        next.send("line " + std::to_string(i) + "\nboom " + std::to_string(i) + "\n");
        EXPECT_EQ(next.read_line(), "LINE " + std::to_string(i) + "\n");
        EXPECT_TRUE(next.read_until_closed(5s).has_value()) << "throw #" << i << " did not close its connection";
    }
    EXPECT_TRUE(wait_until([&] { return lines_containing(host.log_text(), {"threw"}).size() >= 21; }, 5s))
        << "every throw is logged";
    bystander.send("after all that\n");
    EXPECT_EQ(bystander.read_line(), "AFTER ALL THAT\n");
    TcpClient fresh(port);
    fresh.send("fresh\n");
    EXPECT_EQ(fresh.read_line(), "FRESH\n") << "the service stopped accepting after its handlers threw";
    EXPECT_TRUE(host.running());
}

} // namespace
} // namespace portico::test
