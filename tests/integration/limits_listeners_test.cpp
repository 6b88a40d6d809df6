// limits_listeners_test.cpp — the addresses a service can listen on besides
// IPv4 (issue 4): a unix: socket file (mode, stale file, removal at stop,
// a path a live server holds) and the IPv6 loopback; served in both modes.
#include "harness/ConfigBuilder.h"
#include "harness/Modes.h"
#include "harness/PorticoProcess.h"
#include "harness/ShippedHost.h"
#include "harness/Sockets.h"
#include "harness/TcpClient.h"
#include "harness/TempDir.h"

#include <gtest/gtest.h>

#include <csignal>
#include <filesystem>
#include <memory>
#include <string>

#include <sys/stat.h>

namespace portico::test {
namespace {

namespace fs = std::filesystem;

// Two clients at once, so the second is answered while the first waits in read_line.
void expect_serves(TcpClient first, TcpClient second) {
    first.send("over here\n");
    EXPECT_EQ(first.read_line(), "OVER HERE\n");
    second.send("and here\n");
    EXPECT_EQ(second.read_line(), "AND HERE\n");
    first.send("still\n");
    EXPECT_EQ(first.read_line(), "STILL\n");
}

void expect_serves(TcpClient client) {
    client.send("over here\n");
    EXPECT_EQ(client.read_line(), "OVER HERE\n");
}

// The tests below run in mode threads and mode events alike
// (Modes/LimitsListeners.*/threads and …/events); the plain TESTs use the
// default mode, threads.
class LimitsListeners : public ::testing::TestWithParam<std::string> {};

TEST_P(LimitsListeners, UnixSocketServesWithItsModeAndIsRemovedAtStop) {
    TempDir dir;
    const fs::path socket = dir / "upper.sock";
    auto host = start_upper(dir, [&](ServiceSpec &s) {
        in_mode(s, GetParam()).listen("unix:" + socket.string()).option("unix_mode", yaml_quote("0600"));
    });
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

TEST_P(LimitsListeners, Ipv6LoopbackServes) {
    if (!ipv6_loopback_available()) GTEST_SKIP() << "this machine cannot bind [::1] (no IPv6 loopback)";
    TempDir dir;
    auto host = start_upper(dir, [this](ServiceSpec &s) { in_mode(s, GetParam()).listen("[::1]:0"); });
    ASSERT_TRUE(host->wait_ready());
    EXPECT_NE(host->log_text().find("service 'upper' listening on [::1]:"), std::string::npos) << host->log_text();
    const auto port = host->port("upper");
    expect_serves(connect_v6(port), connect_v6(port));
}

INSTANTIATE_TEST_SUITE_P(Modes, LimitsListeners, ::testing::Values("threads", "events"),
                         [](const auto &info) { return info.param; });

TEST(LimitsListeners, StaleUnixSocketFileIsReplaced) {
    TempDir dir;
    const fs::path socket = dir / "upper.sock";
    { UnixListener crashed(socket); } // a server that died and left its file behind
    ASSERT_TRUE(fs::exists(fs::symlink_status(socket)));

    auto host = start_upper(dir, [&](ServiceSpec &s) { s.listen("unix:" + socket.string()); });
    ASSERT_TRUE(host->wait_ready()) << "a socket file nobody answers on should be replaced";
    expect_serves(connect_unix(socket));
}

TEST(LimitsListeners, UnixPathHeldByALiveServerIsAStartupError) {
    TempDir dir;
    const fs::path socket = dir / "upper.sock";
    UnixListener live(socket);

    auto host = start_upper(dir, [&](ServiceSpec &s) { s.listen("unix:" + socket.string()); });
    EXPECT_EQ(host->wait_exit(10s), ExitStatus::exited(2));
    EXPECT_NE(host->log_text().find("is in use by another running server"), std::string::npos) << host->log_text();
    EXPECT_TRUE(fs::exists(fs::symlink_status(socket))) << "the live server's socket file must be left alone";
}

} // namespace
} // namespace portico::test
