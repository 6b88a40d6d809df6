// socket_options_test.cpp — `tcp_nodelay` and `keepalive` on the
// connections a service accepts, in mode threads and mode events, read from
// the host's own sockets (harness/HostSockets.h): the defaults (nodelay on,
// keepalive off) and both turned the other way; and the `socket_options:`
// list, on accepted connections and on the listener, and its errors at load.
#include "harness/ConfigBuilder.h"
#include "harness/HostSockets.h"
#include "harness/Modes.h"
#include "harness/Paths.h"
#include "harness/PluginDir.h"
#include "harness/PorticoCommand.h"
#include "harness/PorticoProcess.h"
#include "harness/TcpClient.h"
#include "harness/TempDir.h"

#include <gtest/gtest.h>

#include <regex>
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

TEST_P(SocketOptions, SocketOptionsListApplyToAcceptedConnectionsAndTheListener) {
    TempDir dir;
    ConfigBuilder config;
    config.plugin_dir(make_plugin_dir(dir, {shipped_plugin("upper")}));
    in_mode(config.service("listed", "upper.upper"), GetParam())
        .option("socket_options", "[{level: SOL_SOCKET, name: SO_KEEPALIVE, value: 1},"
                                  " {level: IPPROTO_TCP, name: TCP_KEEPIDLE, value: 77, on: accepted},"
                                  " {level: SOL_SOCKET, name: SO_RCVBUF, value: 50000, on: listener}]");
    in_mode(config.service("plain", "upper.upper"), GetParam());
    PorticoProcess host(dir, config.yaml());
    ASSERT_TRUE(host.wait_ready()) << host.log_text();

    TcpClient listed(host.port("listed"));
    TcpClient plain(host.port("plain"));
    listed.send("hi\n");
    ASSERT_EQ(listed.read_line(), "HI\n");
    plain.send("hi\n");
    ASSERT_EQ(plain.read_line(), "HI\n");
    try {
        EXPECT_EQ(host_socket_option(host.pid(), listed, SOL_SOCKET, SO_KEEPALIVE), 1);
        EXPECT_EQ(host_socket_option(host.pid(), listed, IPPROTO_TCP, TCP_KEEPIDLE), 77);
        // The kernel doubles SO_RCVBUF for its bookkeeping (socket(7)).
        EXPECT_EQ(host_listener_option(host.pid(), host.port("listed"), SOL_SOCKET, SO_RCVBUF), 100000);
        EXPECT_NE(host_listener_option(host.pid(), host.port("plain"), SOL_SOCKET, SO_RCVBUF), 100000);
        EXPECT_EQ(host_socket_option(host.pid(), plain, SOL_SOCKET, SO_KEEPALIVE), 0);
        EXPECT_NE(host_socket_option(host.pid(), plain, IPPROTO_TCP, TCP_KEEPIDLE), 77);
    } catch (const HostSocketsUnavailable &e) {
        GTEST_SKIP() << "cannot look at the host's sockets here: " << e.what();
    }
}

INSTANTIATE_TEST_SUITE_P(Modes, SocketOptions, ::testing::Values("threads", "events"),
                         [](const auto &info) { return info.param; });

// What `portico --check` says about a service with these socket_options.
CommandResult check_with(const TempDir &dir, const std::string &options, const std::string &protocol = "tcp") {
    ConfigBuilder config;
    config.plugin_dir(make_plugin_dir(dir, {shipped_plugin("upper"), shipped_plugin("udp_echo")}));
    if (protocol == "udp")
        config.service("svc", "udp_echo.udp_echo").option("protocol", "udp").option("socket_options", options);
    else
        config.service("svc", "upper.upper").option("socket_options", options);
    const auto file = dir.write_file("portico.yaml", config.yaml());
    return run_portico({"--config", file.string(), "--check"});
}

TEST(SocketOptionsConfig, UnknownNamesAndMisfitsAreRefusedNamingTheLine) {
    {
        TempDir dir;
        const auto result = check_with(dir, "[{level: SOL_SOCKET, name: SO_KEEPALIV, value: 1}]");
        EXPECT_NE(result.status, ExitStatus::exited(0)) << result.output;
        EXPECT_TRUE(std::regex_search(
            result.output,
            std::regex(
                R"(portico\.yaml:[0-9]+:[0-9]+: .*unknown socket option 'SO_KEEPALIV' at level SOL_SOCKET \(did you mean 'SO_KEEPALIVE'\?\))")))
            << result.output;
    }
    {
        TempDir dir;
        const auto result = check_with(dir, "[{level: SOL_SOKET, name: SO_KEEPALIVE, value: 1}]");
        EXPECT_NE(result.status, ExitStatus::exited(0)) << result.output;
        EXPECT_NE(result.output.find("did you mean 'SOL_SOCKET'"), std::string::npos) << result.output;
    }
    {
        TempDir dir;
        const auto result = check_with(dir, "[{level: SOL_SOCKET, name: SO_KEEPALIVE, value: 1, on: sometimes}]");
        EXPECT_NE(result.status, ExitStatus::exited(0)) << result.output;
        EXPECT_NE(result.output.find("'accepted' or 'listener'"), std::string::npos) << result.output;
    }
    {
        TempDir dir;
        const auto result = check_with(dir, "[{level: IPPROTO_TCP, name: TCP_NODELAY, value: 1, on: listener}]", "udp");
        EXPECT_NE(result.status, ExitStatus::exited(0)) << result.output;
        EXPECT_NE(result.output.find("IPPROTO_TCP TCP_NODELAY is a TCP option and this service is protocol udp"),
                  std::string::npos)
            << result.output;
    }
    {
        TempDir dir;
        const auto result =
            check_with(dir, "[{level: SOL_SOCKET, name: SO_RCVBUF, value: 65536, on: listener}]", "udp");
        EXPECT_EQ(result.status, ExitStatus::exited(0)) << result.output;
    }
}

} // namespace
} // namespace portico::test
