// events_shutdown_test.cpp — SIGTERM to a host with `mode: events`
// services: no new connections, open sessions may go on until
// shutdown_timeout, then the handlers waiting in reads are woken ("stopping")
// and their connections closed; exit code 0 either way.
#include "harness/ConfigBuilder.h"
#include "harness/Elapsed.h"
#include "harness/Paths.h"
#include "harness/PluginDir.h"
#include "harness/PorticoProcess.h"
#include "harness/SocketQueues.h"
#include "harness/TcpClient.h"
#include "harness/TempDir.h"

#include <gtest/gtest.h>

#include <cerrno>
#include <csignal>
#include <cstring>
#include <string>
#include <vector>

namespace portico::test {
namespace {

TEST(EventsShutdown, SigtermRefusesNewConnectionsAndLetsAnOpenSessionFinish) {
    TempDir dir;
    ConfigBuilder config;
    config.plugin_dir(make_plugin_dir(dir, {shipped_plugin("upper")}));
    config.service("upper", "upper.upper").events(1);
    config.shutdown_timeout("10s");
    PorticoProcess host(dir, config.yaml());
    ASSERT_TRUE(host.wait_ready());
    const auto port = host.port("upper");

    TcpClient session(port);
    session.send("hello\n");
    ASSERT_EQ(session.read_line(), "HELLO\n"); // its handler now waits in read_line
    host.send_signal(SIGTERM);

    int last_error = 0;
    const bool refused =
        wait_until([&] { return (last_error = TcpClient::probe_connect(port, 100ms)) == ECONNREFUSED; }, 600ms, 10ms);
    EXPECT_TRUE(refused) << "connections were still accepted 600 ms after SIGTERM; last attempt: "
                         << (last_error == 0 ? "connected" : std::strerror(last_error));
    ASSERT_TRUE(host.running()) << "the host exited with a session open, long before shutdown_timeout";

    session.send("last words\n");
    EXPECT_EQ(session.read_line(), "LAST WORDS\n") << "the open session was cut instead of finishing";
    const auto closed_at = Clock::now();
    session.close();
    EXPECT_EQ(host.wait_exit(5s), ExitStatus::exited(0));
    EXPECT_LT(since(closed_at), 3000ms) << "the host waited on after its last session ended";
    EXPECT_TRUE(host.wait_for_log("stopped", 1s));
    EXPECT_TRUE(lines_containing(host.log_text(), {"sessions that would not end"}).empty()) << host.log_text();
}

// Fifty-one sessions whose handlers wait in read_line and never end by
// themselves: at shutdown_timeout every one is woken and closed, and the
// host exits 0 without waiting for any of them on top.
TEST(EventsShutdown, WaitingSessionsAreClosedAtTheShutdownTimeout) {
    TempDir dir;
    ConfigBuilder config;
    config.plugin_dir(make_plugin_dir(dir, {shipped_plugin("upper")}));
    config.service("upper", "upper.upper").events(1);
    config.shutdown_timeout("1s");
    PorticoProcess host(dir, config.yaml());
    ASSERT_TRUE(host.wait_ready());
    const auto port = host.port("upper");

    std::vector<TcpClient> lingering;
    for (int i = 0; i < 50; ++i) {
        lingering.emplace_back(port);
        lingering.back().send("hi\n");
    }
    for (auto &client : lingering)
        ASSERT_EQ(client.read_line(), "HI\n");
    TcpClient half_a_line(port);
    half_a_line.send("no newline yet"); // its handler waits for the rest
    ASSERT_TRUE(wait_server_read_all(half_a_line)) << "the host never read the half line";

    const auto signalled = Clock::now();
    host.send_signal(SIGTERM);
    EXPECT_EQ(host.wait_exit(6s), ExitStatus::exited(0)) << "shutdown_timeout: 1s was not honoured";
    const Millis took = since(signalled);
    EXPECT_GE(took, 800ms) << "sessions were cut before shutdown_timeout";
    EXPECT_LT(took, 4000ms) << "closing the sessions took long after shutdown_timeout";
    EXPECT_TRUE(host.wait_for_log("service 'upper': 51 session(s) still open at shutdown_timeout; closing them", 1s))
        << "every waiting session is counted and closed";
    EXPECT_TRUE(host.wait_for_log("stopped", 1s));
    EXPECT_TRUE(lines_containing(host.log_text(), {"sessions that would not end"}).empty())
        << "a handler waiting in a read was not woken by the shutdown";
}

} // namespace
} // namespace portico::test
