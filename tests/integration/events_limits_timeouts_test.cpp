// events_limits_timeouts_test.cpp — clients that make no progress on a
// `mode: events` service: a silent peer and a slowloris dribbling a line are
// cut at idle_timeout, a handler waiting past read_timeout gets its timeout,
// a line past max_line is an error and never buffered whole; a well-behaved
// client on the same loop is untouched meanwhile.
#include "harness/ConfigBuilder.h"
#include "harness/HarnessError.h"
#include "harness/Paths.h"
#include "harness/PluginDir.h"
#include "harness/PorticoProcess.h"
#include "harness/ProcStatus.h"
#include "harness/TcpClient.h"
#include "harness/TempDir.h"

#include <gtest/gtest.h>

#include <atomic>
#include <memory>
#include <optional>
#include <string>
#include <thread>

namespace portico::test {
namespace {

using Clock = std::chrono::steady_clock;

Millis since(Clock::time_point start) {
    return std::chrono::duration_cast<Millis>(Clock::now() - start);
}

std::string peer_of(const TcpClient &client) {
    return "peer 127.0.0.1:" + std::to_string(client.local_port()) + ":";
}

// A host serving upper.upper on one event loop, tuned by `tune`.
template <class Tune> std::unique_ptr<PorticoProcess> start_upper(const TempDir &dir, Tune tune) {
    ConfigBuilder config;
    config.plugin_dir(make_plugin_dir(dir, {shipped_plugin("upper")}));
    tune(config.service("upper", "upper.upper").events(1));
    return std::make_unique<PorticoProcess>(dir, config.yaml());
}

// Round trips on `client` until `stop` — `line` sent, `reply` expected — at
// a human-ish pace well inside any timeout here; finish() says "" when every
// one succeeded.
class Chatter {
public:
    Chatter(TcpClient &client, std::atomic<bool> &stop, std::string line = "tick\n", std::string reply = "TICK\n")
        : thread_([&client, &stop, line = std::move(line), reply = std::move(reply), this] {
              try {
                  while (!stop) {
                      client.send(line);
                      if (client.read_line(1s) != reply) throw HarnessError("wrong reply");
                      ++count_;
                      std::this_thread::sleep_for(50ms);
                  }
              } catch (const std::exception &e) {
                  error_ = e.what();
              }
          }) {}
    ~Chatter() {
        if (thread_.joinable()) thread_.join();
    }
    std::string finish() {
        thread_.join();
        return error_;
    }
    int count() const { return count_; }

private:
    std::atomic<int> count_{0};
    std::string error_;
    std::thread thread_;
};

TEST(EventsTimeouts, SilentPeerAndSlowlorisAreCutAtIdleTimeoutWhileAFastClientIsServed) {
    TempDir dir;
    auto host = start_upper(dir, [](ServiceSpec &s) { s.option("idle_timeout", "2s"); });
    ASSERT_TRUE(host->wait_ready());
    const auto port = host->port("upper");

    TcpClient fast(port);
    std::atomic<bool> stop{false};
    Chatter chatter(fast, stop);

    // One connects and says nothing; the other sends one byte a second and
    // never a newline: progress for the socket, none for read_line.
    TcpClient silent(port);
    TcpClient slow(port);
    const auto connected = Clock::now();
    std::optional<Millis> slow_cut;
    std::string sent;
    for (int i = 0; i < 8 && !slow_cut; ++i) {
        try {
            slow.send("x");
            sent += 'x';
        } catch (const HarnessError &) {
            slow_cut = since(connected);
            break;
        }
        if (slow.read_until_closed(1s)) slow_cut = since(connected); // paces the dribble: 1 byte/s
    }
    const auto silent_rest = silent.read_until_closed(1s); // long cut by now, if it was cut at 2 s
    stop = true;
    const std::string fast_error = chatter.finish();

    ASSERT_TRUE(slow_cut.has_value()) << "a client sending " << sent.size()
                                      << " bytes one per second and no line was never cut";
    EXPECT_GE(*slow_cut, 1800ms) << "cut before idle_timeout";
    EXPECT_LE(*slow_cut, 3500ms) << "cut long after idle_timeout (2s)";
    EXPECT_TRUE(silent_rest.has_value()) << "a silent client was still open ~" << since(connected).count()
                                         << " ms after connecting, with idle_timeout 2s";
    EXPECT_TRUE(host->wait_for_log_line({peer_of(slow), "closed by the host: idle timeout"}, 5s));
    EXPECT_TRUE(host->wait_for_log_line({peer_of(silent), "closed by the host: idle timeout"}, 5s));
    EXPECT_EQ(fast_error, "") << "the fast client must be unaffected";
    EXPECT_GT(chatter.count(), 10);
    fast.send("after\n");
    EXPECT_EQ(fast.read_line(), "AFTER\n") << "and is still open, being active all along";
}

// read_timeout is the handler's default read timeout: upper waiting in
// read_line gets its timeout and ends the session, long before idle_timeout.
TEST(EventsTimeouts, ReadTimeoutEndsAHandlerWaitingInARead) {
    TempDir dir;
    auto host = start_upper(dir, [](ServiceSpec &s) { s.option("read_timeout", "1s").option("idle_timeout", "60s"); });
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
    std::atomic<bool> stop{false};
    Chatter chatter(fast, stop, "tick\n", "tick\n"); // echo
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
    stop = true;
    const std::string fast_error = chatter.finish();

    ASSERT_FALSE(send_error.empty()) << "the host read " << sent << " bytes without being able to write them back";
    EXPECT_EQ(send_error.find("timed out"), std::string::npos)
        << "the host stopped reading but never cut the connection: " << send_error;
    EXPECT_LT(took, 5000ms) << "sent " << sent << " bytes";
    EXPECT_TRUE(host.wait_for_log_line({peer_of(hoarder), "closed by the host: write timeout"}, 5s));
    EXPECT_EQ(fast_error, "") << "a connection on the same loop was disturbed";
    EXPECT_GT(chatter.count(), 5);
}

TEST(EventsTimeouts, OverlongLineIsAnErrorAndIsNeverBufferedWhole) {
    constexpr std::size_t kFlood = 10 << 20; // 10 MiB, no newline
    TempDir dir;
    auto host = start_upper(dir, [](ServiceSpec &s) { s.option("max_line", "64KiB"); });
    ASSERT_TRUE(host->wait_ready());
    const auto port = host->port("upper");

    TcpClient warmup(port);
    warmup.send("warm\n");
    ASSERT_EQ(warmup.read_line(), "WARM\n");
    warmup.close();
    const long long rss_before = rss_kib(host->pid());

    TcpClient bystander(port);
    TcpClient flood(port);
    const std::string chunk(256 * 1024, 'a');
    std::string send_error;
    std::size_t sent = 0;
    try {
        for (; sent < kFlood; sent += chunk.size())
            flood.send(chunk, 5s);
    } catch (const HarnessError &e) {
        send_error = e.what(); // expected: the host closed the connection with our bytes unread
    }
    const auto rest = flood.read_until_closed(5s);
    ASSERT_TRUE(rest.has_value()) << "the host should close a connection whose line passed max_line (sent " << sent
                                  << " bytes; " << send_error << ")";
    EXPECT_EQ(send_error.find("timed out"), std::string::npos)
        << "the host stopped reading without closing: " << send_error;
    EXPECT_TRUE(host->wait_for_log_line({peer_of(flood), "line longer than max_line"}, 5s))
        << "the handler gets the error";
    const long long rss_after = rss_kib(host->pid());
    EXPECT_LT(rss_after - rss_before, 8 * 1024)
        << "RSS grew from " << rss_before << " to " << rss_after << " KiB while refusing a 10 MiB line";

    bystander.send("still here\n");
    EXPECT_EQ(bystander.read_line(), "STILL HERE\n") << "a connection on the same loop was disturbed";
    TcpClient next(port);
    next.send("next\n");
    EXPECT_EQ(next.read_line(), "NEXT\n") << "the host serves the next connection";
}

} // namespace
} // namespace portico::test
