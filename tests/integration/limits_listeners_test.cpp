// limits_listeners_test.cpp — the addresses a service can listen on besides
// IPv4 (issue 4): a unix: socket file (mode, stale file, removal at stop,
// a path a live server holds) and the IPv6 loopback.
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

std::unique_ptr<PorticoProcess> start_upper_on(const TempDir &dir, const std::string &listen,
                                               const std::string &extra_key = {}, const std::string &extra_value = {}) {
    ConfigBuilder config;
    config.plugin_dir(make_plugin_dir(dir, {shipped_plugin("upper")}));
    auto &service = config.service("upper", "upper.upper").listen(listen);
    if (!extra_key.empty()) service.option(extra_key, extra_value);
    return std::make_unique<PorticoProcess>(dir, config.yaml());
}

void expect_serves(TcpClient client) {
    client.send("over here\n");
    EXPECT_EQ(client.read_line(), "OVER HERE\n");
}

TEST(LimitsListeners, UnixSocketServesWithItsModeAndIsRemovedAtStop) {
    TempDir dir;
    const fs::path socket = dir / "upper.sock";
    auto host = start_upper_on(dir, "unix:" + socket.string(), "unix_mode", yaml_quote("0600"));
    ASSERT_TRUE(host->wait_ready());

    struct stat st {};
    ASSERT_EQ(::lstat(socket.c_str(), &st), 0) << socket << " should exist while the service runs";
    EXPECT_TRUE(S_ISSOCK(st.st_mode));
    EXPECT_EQ(st.st_mode & 07777, 0600u) << "unix_mode \"0600\" not applied";
    expect_serves(connect_unix(socket));

    host->send_signal(SIGTERM);
    EXPECT_EQ(host->wait_exit(10s), ExitStatus::exited(0));
    EXPECT_FALSE(fs::exists(fs::symlink_status(socket))) << "stop should remove " << socket;
}

TEST(LimitsListeners, StaleUnixSocketFileIsReplaced) {
    TempDir dir;
    const fs::path socket = dir / "upper.sock";
    { UnixListener crashed(socket); } // a server that died and left its file behind
    ASSERT_TRUE(fs::exists(fs::symlink_status(socket)));

    auto host = start_upper_on(dir, "unix:" + socket.string());
    ASSERT_TRUE(host->wait_ready()) << "a socket file nobody answers on should be replaced";
    expect_serves(connect_unix(socket));
}

TEST(LimitsListeners, UnixPathHeldByALiveServerIsAStartupError) {
    TempDir dir;
    const fs::path socket = dir / "upper.sock";
    UnixListener live(socket);

    auto host = start_upper_on(dir, "unix:" + socket.string());
    EXPECT_EQ(host->wait_exit(10s), ExitStatus::exited(2));
    EXPECT_NE(host->log_text().find("is in use by another running server"), std::string::npos) << host->log_text();
    EXPECT_TRUE(fs::exists(fs::symlink_status(socket))) << "the live server's socket file must be left alone";
}

TEST(LimitsListeners, Ipv6LoopbackServes) {
    if (!ipv6_loopback_available()) GTEST_SKIP() << "this machine cannot bind [::1] (no IPv6 loopback)";
    TempDir dir;
    auto host = start_upper_on(dir, "[::1]:0");
    ASSERT_TRUE(host->wait_ready());
    EXPECT_NE(host->log_text().find("listening on [::1]:"), std::string::npos) << host->log_text();
    expect_serves(connect_v6(host->port("upper")));
}

} // namespace
} // namespace portico::test
