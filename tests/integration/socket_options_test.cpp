// socket_options_test.cpp — `tcp_nodelay` and `keepalive` on the
// connections a service accepts, in mode threads and mode events, read from
// the host's own sockets (harness/HostSockets.h): the defaults (nodelay on,
// keepalive off) and both turned the other way.
#include "harness/ConfigBuilder.h"
#include "harness/HostSockets.h"
#include "harness/Modes.h"
#include "harness/Paths.h"
#include "harness/PluginDir.h"
#include "harness/PorticoProcess.h"
#include "harness/TcpClient.h"
#include "harness/TempDir.h"

#include <gtest/gtest.h>

#include <string>

#include <netinet/in.h>
#include <netinet/tcp.h>
#include <sys/socket.h>

namespace portico::test {
namespace {

struct Options {
    int nodelay = -1;
    int keepalive = -1;
};

// A round trip first: by then the host has accepted the connection and set it up.
Options options_of(const PorticoProcess &host, TcpClient &client) {
    client.send("hi\n");
    if (client.read_line() != "HI\n") throw HarnessError("no reply from the service");
    return {host_socket_option(host.pid(), client, IPPROTO_TCP, TCP_NODELAY) != 0 ? 1 : 0,
            host_socket_option(host.pid(), client, SOL_SOCKET, SO_KEEPALIVE) != 0 ? 1 : 0};
}

class SocketOptions : public ::testing::TestWithParam<std::string> {};

TEST_P(SocketOptions, TcpNodelayAndKeepaliveApplyToAcceptedConnections) {
    TempDir dir;
    ConfigBuilder config;
    config.plugin_dir(make_plugin_dir(dir, {shipped_plugin("upper")}));
    in_mode(config.service("plain", "upper.upper"), GetParam());
    in_mode(config.service("tuned", "upper.upper"), GetParam())
        .option("tcp_nodelay", "false")
        .option("keepalive", "true");
    PorticoProcess host(dir, config.yaml());
    ASSERT_TRUE(host.wait_ready());

    TcpClient plain(host.port("plain"));
    TcpClient tuned(host.port("tuned"));
    Options defaults, changed;
    try {
        defaults = options_of(host, plain);
        changed = options_of(host, tuned);
    } catch (const HostSocketsUnavailable &e) {
        GTEST_SKIP() << "cannot look at the host's sockets here: " << e.what();
    }
    EXPECT_EQ(defaults.nodelay, 1) << "tcp_nodelay defaults to true";
    EXPECT_EQ(defaults.keepalive, 0) << "keepalive defaults to false";
    EXPECT_EQ(changed.nodelay, 0) << "tcp_nodelay: false";
    EXPECT_EQ(changed.keepalive, 1) << "keepalive: true";
}

INSTANTIATE_TEST_SUITE_P(Modes, SocketOptions, ::testing::Values("threads", "events"),
                         [](const auto &info) { return info.param; });

} // namespace
} // namespace portico::test
