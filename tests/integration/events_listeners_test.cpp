// events_listeners_test.cpp — a `mode: events` service on the addresses
// besides IPv4: a unix: socket file (its mode, removed at stop) and the IPv6
// loopback, each served by the event loop like any other.
#include "harness/ConfigBuilder.h"
#include "harness/Paths.h"
#include "harness/PluginDir.h"
#include "harness/PorticoProcess.h"
#include "harness/Sockets.h"
#include "harness/TcpClient.h"
#include "harness/TempDir.h"

#include <gtest/gtest.h>

#include <csignal>
#include <filesystem>
#include <memory>

#include <sys/stat.h>

namespace portico::test {
namespace {

namespace fs = std::filesystem;

std::unique_ptr<PorticoProcess> start_upper_on(const TempDir &dir, const std::string &listen) {
    ConfigBuilder config;
    config.plugin_dir(make_plugin_dir(dir, {shipped_plugin("upper")}));
    auto &service = config.service("upper", "upper.upper").listen(listen).events(1);
    if (listen.starts_with("unix:")) service.option("unix_mode", yaml_quote("0600"));
    return std::make_unique<PorticoProcess>(dir, config.yaml());
}

// Two clients at once, so the second is answered while the first waits in read_line.
void expect_serves(TcpClient first, TcpClient second) {
    first.send("over here\n");
    EXPECT_EQ(first.read_line(), "OVER HERE\n");
    second.send("and here\n");
    EXPECT_EQ(second.read_line(), "AND HERE\n");
    first.send("still\n");
    EXPECT_EQ(first.read_line(), "STILL\n");
}

TEST(EventsListeners, UnixSocketServesWithItsModeAndIsRemovedAtStop) {
    TempDir dir;
    const fs::path socket = dir / "upper.sock";
    auto host = start_upper_on(dir, "unix:" + socket.string());
    ASSERT_TRUE(host->wait_ready());

    struct stat st {};
    ASSERT_EQ(::lstat(socket.c_str(), &st), 0) << socket << " should exist while the service runs";
    EXPECT_TRUE(S_ISSOCK(st.st_mode));
    EXPECT_EQ(st.st_mode & 07777, 0600u) << "unix_mode \"0600\" not applied";
    expect_serves(connect_unix(socket), connect_unix(socket));

    host->send_signal(SIGTERM);
    EXPECT_EQ(host->wait_exit(10s), ExitStatus::exited(0));
    EXPECT_FALSE(fs::exists(fs::symlink_status(socket))) << "stop should remove " << socket;
}

TEST(EventsListeners, Ipv6LoopbackServes) {
    if (!ipv6_loopback_available()) GTEST_SKIP() << "this machine cannot bind [::1] (no IPv6 loopback)";
    TempDir dir;
    auto host = start_upper_on(dir, "[::1]:0");
    ASSERT_TRUE(host->wait_ready());
    EXPECT_NE(host->log_text().find("service 'upper' listening on [::1]:"), std::string::npos) << host->log_text();
    const auto port = host->port("upper");
    expect_serves(connect_v6(port), connect_v6(port));
}

} // namespace
} // namespace portico::test
