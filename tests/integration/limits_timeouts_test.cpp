// limits_timeouts_test.cpp — clients that hold a worker without making
// progress (issue 4): a slowloris dribbling one byte a second is cut at
// idle_timeout, a line past max_line is an error to the handler and is
// never buffered whole; well-behaved clients are untouched meanwhile.
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
#include <string>
#include <thread>

namespace portico::test {
namespace {

using Clock = std::chrono::steady_clock;

Millis since(Clock::time_point start) { return std::chrono::duration_cast<Millis>(Clock::now() - start); }

// Round trips on `client` until `stop`; returns how many, or throws.
class Chatter {
  public:
    Chatter(TcpClient &client, std::atomic<bool> &stop)
        : thread_([&client, &stop, this] {
              try {
                  while (!stop) {
                      client.send("tick\n");
                      if (client.read_line(1s) != "TICK\n") throw HarnessError("wrong reply");
                      ++count_;
                      std::this_thread::sleep_for(50ms); // a human-ish pace, well inside idle_timeout
                  }
              } catch (const std::exception &e) {
                  error_ = e.what();
              }
          }) {}
    ~Chatter() {
        if (thread_.joinable()) thread_.join();
    }
    // Joins; "" when every round trip succeeded.
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

TEST(LimitsTimeouts, SlowlorisIsCutAtIdleTimeoutWhileAFastClientIsServed) {
    TempDir dir;
    ConfigBuilder config;
    config.plugin_dir(make_plugin_dir(dir, {shipped_plugin("upper")}));
    config.service("upper", "upper.upper").option("idle_timeout", "2s");
    PorticoProcess host(dir, config.yaml());
    ASSERT_TRUE(host.wait_ready());

    TcpClient fast(host.port("upper"));
    std::atomic<bool> stop{false};
    Chatter chatter(fast, stop);

    // One byte a second, never a newline: progress for the socket, none for read_line.
    TcpClient slow(host.port("upper"));
    const auto connected = Clock::now();
    const std::string slow_peer = "peer 127.0.0.1:" + std::to_string(slow.local_port()) + ":";
    std::optional<Millis> cut_after;
    std::string sent;
    for (int i = 0; i < 8 && !cut_after; ++i) {
        try {
            slow.send("x");
            sent += 'x';
        } catch (const HarnessError &) {
            cut_after = since(connected);
            break;
        }
        if (slow.read_until_closed(1s)) cut_after = since(connected); // paces the dribble: 1 byte/s
    }
    stop = true;
    const std::string fast_error = chatter.finish();

    ASSERT_TRUE(cut_after.has_value()) << "a client sending " << sent.size()
                                       << " bytes one per second and no line was never cut";
    EXPECT_GE(*cut_after, 1800ms) << "cut before idle_timeout";
    EXPECT_LE(*cut_after, 3500ms) << "cut long after idle_timeout (2s)";
    EXPECT_TRUE(host.wait_for_log_line({slow_peer, "closed by the host: idle timeout"}, 5s));
    EXPECT_EQ(fast_error, "") << "the fast client must be unaffected";
    EXPECT_GT(chatter.count(), 10);
    fast.send("after\n");
    EXPECT_EQ(fast.read_line(), "AFTER\n") << "and is still open, being active all along";
}

TEST(LimitsTimeouts, OverlongLineIsAnErrorAndIsNeverBufferedWhole) {
    constexpr std::size_t kFlood = 10 << 20; // 10 MiB, no newline
    TempDir dir;
    ConfigBuilder config;
    config.plugin_dir(make_plugin_dir(dir, {shipped_plugin("upper")}));
    config.service("upper", "upper.upper").option("max_line", "64KiB");
    PorticoProcess host(dir, config.yaml());
    ASSERT_TRUE(host.wait_ready());
    const auto port = host.port("upper");

    TcpClient warmup(port);
    warmup.send("warm\n");
    ASSERT_EQ(warmup.read_line(), "WARM\n");
    warmup.close();
    const long long rss_before = rss_kib(host.pid());

    TcpClient flood(port);
    const std::string chunk(256 * 1024, 'a');
    std::string send_error;
    std::size_t sent = 0;
    try {
        for (; sent < kFlood; sent += chunk.size()) flood.send(chunk, 5s);
    } catch (const HarnessError &e) {
        send_error = e.what(); // expected: the host closed the connection with our bytes unread
    }
    const auto rest = flood.read_until_closed(5s);
    ASSERT_TRUE(rest.has_value()) << "the host should close a connection whose line passed max_line (sent " << sent
                                  << " bytes; " << send_error << ")";
    EXPECT_EQ(send_error.find("timed out"), std::string::npos) << "the host stopped reading without closing: "
                                                                << send_error;
    EXPECT_TRUE(host.wait_for_log("line longer than max_line", 5s)) << "the handler gets the error";
    const long long rss_after = rss_kib(host.pid());
    EXPECT_LT(rss_after - rss_before, 8 * 1024) << "RSS grew from " << rss_before << " to " << rss_after
                                                << " KiB while refusing a 10 MiB line";

    TcpClient next(port);
    next.send("next\n");
    EXPECT_EQ(next.read_line(), "NEXT\n") << "the host serves the next connection";
}

} // namespace
} // namespace portico::test
