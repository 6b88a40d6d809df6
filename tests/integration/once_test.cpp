// once_test.cpp — `portico --once`, socketserver's handle_request(): each
// service serves one connection (or datagram), refuses the next with its
// busy_message, and portico exits 0 once every service has served its one;
// mode process is refused with --once. Run in mode threads and mode events.
#include "harness/ConfigBuilder.h"
#include "harness/Modes.h"
#include "harness/Paths.h"
#include "harness/PluginDir.h"
#include "harness/PorticoProcess.h"
#include "harness/Refusal.h"
#include "harness/TcpClient.h"
#include "harness/TempDir.h"
#include "harness/UdpClient.h"

#include <gtest/gtest.h>

#include <string>

namespace portico::test {
namespace {

ConfigBuilder once_config(const TempDir &dir) {
    ConfigBuilder config;
    config.plugin_dir(make_plugin_dir(dir, {shipped_plugin("socketserver"), shipped_plugin("udp_upper")}));
    return config;
}

class Once : public ::testing::TestWithParam<std::string> {};

TEST_P(Once, EachServiceServesOneThenPorticoExits) {
    TempDir dir;
    ConfigBuilder config = once_config(dir);
    in_mode(config.service("upper", "socketserver.upper_once"), GetParam())
        .option("busy_message", yaml_quote(kBusyMessage));
    config.service("dgram", "udp_upper").option("protocol", "udp");
    PorticoProcess host(dir, config.yaml(), {"--once"});
    ASSERT_TRUE(host.wait_ready());

    TcpClient first(host.port("upper"));
    first.send("Hello, Server!");
    EXPECT_EQ(first.read_until_closed(), "HELLO, SERVER!");

    TcpClient second(host.port("upper"));
    expect_refused_promptly(second, "--once: the service has served its one connection");
    EXPECT_TRUE(host.wait_for_log_line({"service 'upper'", "portico --once: this service has taken its one"}, 5s))
        << host.log_text();
    EXPECT_TRUE(host.running()) << "the UDP service has not served its datagram yet";

    UdpClient datagram(host.port("dgram"));
    EXPECT_EQ(datagram.request("one datagram"), "ONE DATAGRAM");
    EXPECT_EQ(host.wait_exit(10s), ExitStatus::exited(0));
    EXPECT_TRUE(host.wait_for_log("--once: every service has served its one connection or datagram", 1s))
        << host.log_text();
}

INSTANTIATE_TEST_SUITE_P(Modes, Once, ::testing::Values("threads", "events"),
                         [](const auto &info) { return info.param; });

TEST(Once, AUdpServiceTakesOneDatagramAndNoMore) {
    TempDir dir;
    ConfigBuilder config = once_config(dir);
    config.service("dgram", "udp_upper").option("protocol", "udp");
    PorticoProcess host(dir, config.yaml(), {"--once"});
    ASSERT_TRUE(host.wait_ready());
    UdpClient client(host.port("dgram"));
    client.send("first");
    client.send("second");
    EXPECT_EQ(client.receive(), "FIRST");
    EXPECT_EQ(host.wait_exit(10s), ExitStatus::exited(0));
    EXPECT_EQ(client.try_receive(), std::nullopt) << "only the first datagram is served";
}

TEST(Once, ModeProcessIsRefusedNamingTheService) {
    TempDir dir;
    ConfigBuilder config = once_config(dir);
    config.service("forked", "socketserver.upper_once").option("mode", "process");
    PorticoProcess host(dir, config.yaml(), {"--once"});
    EXPECT_EQ(host.wait_exit(10s), ExitStatus::exited(2));
    EXPECT_NE(host.log_text().find("service 'forked': --once serves one connection in the portico process"),
              std::string::npos)
        << host.log_text();
}

} // namespace
} // namespace portico::test
