// events_limits_timeouts_test.cpp — timeouts that wake a fiber in
// `mode: events`: a handler waiting past read_timeout gets its timeout, and
// a client that never reads is cut at idle_timeout while its handler is
// parked in a write; a client on the same loop is untouched meanwhile. The
// silent peer, the slowloris and max_line in mode events are the
// Modes/LimitsTimeouts tests in limits_timeouts_test.cpp.
#include "harness/Chatter.h"
#include "harness/ConfigBuilder.h"
#include "harness/Elapsed.h"
#include "harness/HarnessError.h"
#include "harness/Paths.h"
#include "harness/PluginDir.h"
#include "harness/PorticoProcess.h"
#include "harness/ShippedHost.h"
#include "harness/TcpClient.h"
#include "harness/TempDir.h"

#include <gtest/gtest.h>

#include <string>

namespace portico::test {
namespace {

// read_timeout is the handler's default read timeout: upper waiting in
// read_line gets its timeout and ends the session, long before idle_timeout.
TEST(EventsTimeouts, ReadTimeoutEndsAHandlerWaitingInARead) {
    TempDir dir;
    auto host = start_upper(
        dir, [](ServiceSpec &s) { s.events(1).option("read_timeout", "1s").option("idle_timeout", "60s"); });
    ASSERT_TRUE(host->wait_ready());

    TcpClient client(host->port("upper"));
    client.send("one\n");
    ASSERT_EQ(client.read_line(), "ONE\n");
    const auto waiting_since = Clock::now();
    const auto rest = client.read_until_closed(5s);
    const Millis waited = since(waiting_since);
    ASSERT_TRUE(rest.has_value()) << "read_timeout 1s did not end the handler's read";
    EXPECT_EQ(*rest, "");
    EXPECT_GE(waited, 800ms) << "ended before read_timeout";
    EXPECT_LT(waited, 3000ms) << "ended long after read_timeout";
    EXPECT_TRUE(host->wait_for_log_line({peer_of(client), "read timed out"}, 5s));

    TcpClient next(host->port("upper"));
    next.send("next\n");
    EXPECT_EQ(next.read_line(), "NEXT\n");
}

// A client that sends and never reads: echo's write blocks once the
// buffers are full (its fiber parked, waiting to write), and then its reads
// stop too. idle_timeout also bounds a blocked write: the host cuts it, while
// a client on the same loop keeps being served.
TEST(EventsTimeouts, AClientThatNeverReadsIsCutAtIdleTimeout) {
    constexpr std::size_t kLimit = 512u << 20; // the host must have stopped reading long before
    TempDir dir;
    ConfigBuilder config;
    config.plugin_dir(make_plugin_dir(dir, {shipped_plugin("echo")}));
    config.service("echo", "echo.echo").events(1).option("idle_timeout", "1s");
    PorticoProcess host(dir, config.yaml());
    ASSERT_TRUE(host.wait_ready());
    const auto port = host.port("echo");

    TcpClient fast(port);
    Chatter chatter(fast, {.line = "tick\n", .reply = "tick\n"}); // echo
    TcpClient hoarder(port);
    const std::string chunk(256 * 1024, 'h');
    std::string send_error;
    std::size_t sent = 0;
    const auto start = Clock::now();
    try {
        for (; sent < kLimit; sent += chunk.size())
            hoarder.send(chunk, 5s);
    } catch (const HarnessError &e) {
        send_error = e.what();
    }
    const Millis took = since(start);
    const ChatterResult chatted = chatter.stop();

    ASSERT_FALSE(send_error.empty()) << "the host read " << sent << " bytes without being able to write them back";
    EXPECT_EQ(send_error.find("timed out"), std::string::npos)
        << "the host stopped reading but never cut the connection: " << send_error;
    EXPECT_LT(took, 5000ms) << "sent " << sent << " bytes";
    EXPECT_TRUE(host.wait_for_log_line({peer_of(hoarder), "closed by the host: write timeout"}, 5s));
    EXPECT_EQ(chatted.error, "") << "a connection on the same loop was disturbed";
    EXPECT_GT(chatted.round_trips, 5);
}

} // namespace
} // namespace portico::test
