// once_test.cpp — `portico --once`, socketserver's handle_request(): each
// service serves one connection (or datagram), refuses the next with its
// busy_message, and portico exits 0 once every service has served its one;
// mode process is refused with --once; a connection refused after admission
// (verify_request, a bad PROXY header) does not use up the one. Run in mode
// threads and mode events.
#include "harness/ConfigBuilder.h"
#include "harness/Modes.h"
#include "harness/Paths.h"
#include "harness/PluginDir.h"
#include "harness/PorticoProcess.h"
#include "harness/Refusal.h"
#include "harness/Sockets.h"
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

// The one connection is the one that reaches the handler: the plugin's
// verify_request refusing a stranger, and a PROXY header that does not
// parse, leave the service's one for the next client (they used to take it,
// and portico then waited for ever).
TEST_P(Once, AConnectionRefusedAfterAdmissionLeavesTheOneForTheNext) {
    TempDir dir;
    ConfigBuilder config;
    config.plugin_dir(make_plugin_dir(dir, {test_plugin("hooks")}));
    in_mode(config.service("guarded", "hooks.guarded"), GetParam());
    in_mode(config.service("proxied", "hooks.guarded"), GetParam()).option("proxy_protocol", "v1");
    PorticoProcess host(dir, config.yaml(), {"--once"});
    ASSERT_TRUE(host.wait_ready());

    TcpClient stranger = connect_from("127.0.0.2", host.port("guarded"));
    EXPECT_EQ(stranger.read_until_closed(), "refused: 127.0.0.2:" + std::to_string(stranger.local_port()) + "\n");
    TcpClient garbled(host.port("proxied"));
    garbled.send("PROXY NONSENSE\r\n");
    EXPECT_EQ(garbled.read_until_closed(), "");
    ASSERT_TRUE(host.wait_for_log_line({"service 'proxied'", "refused"}, 5s)) << host.log_text();

    TcpClient friendly(host.port("guarded"));
    friendly.send("one\n");
    EXPECT_EQ(friendly.read_line(), "one\n");
    friendly.close();
    TcpClient behind_proxy(host.port("proxied"));
    behind_proxy.send("PROXY TCP4 127.0.0.1 127.0.0.1 5555 80\r\ntwo\n");
    EXPECT_EQ(behind_proxy.read_line(), "two\n");
    behind_proxy.close();
    EXPECT_EQ(host.wait_exit(10s), ExitStatus::exited(0)) << host.log_text();
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
