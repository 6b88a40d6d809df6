// limits_admission_test.cpp — who gets in (issue 4): max_connections under a
// flood, allow/deny lists, per_source_max, accept_rate and queue_timeout,
// each seen from a client's chair: served, or refused at once with the
// busy_message, never left hanging.
#include "harness/ConfigBuilder.h"
#include "harness/ConnectStorm.h"
#include "harness/HarnessError.h"
#include "harness/Paths.h"
#include "harness/PluginDir.h"
#include "harness/PorticoProcess.h"
#include "harness/Slowdown.h"
#include "harness/SocketQueues.h"
#include "harness/Sockets.h"
#include "harness/TcpClient.h"
#include "harness/TempDir.h"

#include <gtest/gtest.h>

#include <algorithm>
#include <iostream>
#include <atomic>
#include <memory>
#include <string>
#include <thread>
#include <vector>

namespace portico::test {
namespace {

using Clock = std::chrono::steady_clock;

const std::string kBusy = "busy, try later\r\n"; // busy_message "busy, try later" as the client sees it

Millis since(Clock::time_point start) { return std::chrono::duration_cast<Millis>(Clock::now() - start); }


// A host serving upper.upper as service "upper", tuned by `tune`.
template <class Tune> std::unique_ptr<PorticoProcess> start_upper(const TempDir &dir, Tune tune) {
    ConfigBuilder config;
    config.plugin_dir(make_plugin_dir(dir, {shipped_plugin("upper")}));
    tune(config.service("upper", "upper.upper").option("busy_message", yaml_quote("busy, try later")));
    return std::make_unique<PorticoProcess>(dir, config.yaml());
}

// What a fresh connection gets for "ping\n": "PING\n" when it is served;
// when it is refused, the line the host said before closing ("" if none).
std::string probe(TcpClient &client) {
    try {
        client.send("ping\n");
    } catch (const HarnessError &) {
        // Already closed by the host: what it said is still in our buffer.
    }
    try {
        return client.read_line(5s).value_or("");
    } catch (const HarnessError &) {
        return ""; // reset with nothing said
    }
}

std::string probe_new(std::uint16_t port) {
    TcpClient client(port);
    return probe(client);
}

// A refused connection is closed by the host promptly, having said kBusy.
void expect_refused_promptly(TcpClient &client, const std::string &why) {
    const auto start = Clock::now();
    const auto said = client.read_until_closed(2s);
    ASSERT_TRUE(said.has_value()) << why << ": the host left the connection open instead of refusing it";
    EXPECT_EQ(*said, kBusy) << why;
    EXPECT_LT(since(start), 1000ms) << why << ": refusal should be immediate";
}

// 2000 attempts against max_connections 100: the 99 that fit next to a
// steady client are served, every other one is refused at once with the
// busy line, none hangs — and the steady client's round trips keep their pace.
TEST(LimitsAdmission, MaxConnectionsFloodIsRefusedPromptlyWhileAServedClientKeepsItsPace) {
    constexpr int kMaxConnections = 100;
    constexpr int kAttempts = 2000;
    // Held: 100 sessions; in flight: the storm's window; both sides per process.
    const std::size_t fd_limit = raise_fd_limit(4096);
    const int window = static_cast<int>(std::min<std::size_t>(200, fd_limit > 400 ? fd_limit - 200 : 0));
    if (window < 16)
        GTEST_SKIP() << "RLIMIT_NOFILE is " << fd_limit << " even after raising it to the hard limit; this test needs "
                     << "about 400 descriptors (ulimit -Hn)";

    TempDir dir;
    auto host = start_upper(dir, [](ServiceSpec &s) {
        s.threads(2, kMaxConnections).option("max_connections", std::to_string(kMaxConnections));
    });
    ASSERT_TRUE(host->wait_ready());
    const auto port = host->port("upper");

    TcpClient steady(port);
    ASSERT_EQ(probe(steady), "PING\n");

    std::atomic<bool> storm_done{false};
    std::atomic<int> round_trips{0};
    std::vector<Millis> latencies;
    std::string steady_error;
    std::thread pacer([&] {
        try {
            while (!storm_done) {
                const auto start = Clock::now();
                steady.send("still here\n");
                if (steady.read_line(2s) != "STILL HERE\n") throw HarnessError("wrong reply");
                latencies.push_back(since(start));
                ++round_trips;
            }
        } catch (const std::exception &e) {
            steady_error = e.what();
        }
    });
    StormResult storm = connect_storm({.port = port, .attempts = kAttempts, .in_flight = window});
    storm_done = true;
    pacer.join();

    EXPECT_EQ(storm.hung, 0) << storm.first_failure;
    EXPECT_EQ(storm.connect_failed, 0) << storm.first_failure;
    EXPECT_EQ(storm.served, kMaxConnections - 1) << "the steady client holds the 100th slot";
    EXPECT_EQ(storm.refused, kAttempts - (kMaxConnections - 1));
    EXPECT_EQ(storm.refused_saying[kBusy], storm.refused) << "every refused client gets the busy line first";
    for (const auto &[said, count] : storm.refused_saying)
        if (said != kBusy) ADD_FAILURE() << count << " refused attempts received \"" << said << "\"";
    EXPECT_LT(storm.slowest, 5000ms);

    ASSERT_TRUE(steady_error.empty()) << "the steady client failed during the flood: " << steady_error;
    ASSERT_GT(round_trips.load(), 0);
    std::sort(latencies.begin(), latencies.end());
    const Millis p99 = latencies[latencies.size() * 99 / 100];
    const Millis worst = latencies.back();
    RecordProperty("steady_round_trips", round_trips.load());
    RecordProperty("steady_p99_ms", static_cast<int>(p99.count()));
    RecordProperty("steady_max_ms", static_cast<int>(worst.count()));
    std::cout << "steady client during the flood: " << round_trips << " round trips, p99 " << p99.count()
              << " ms, max " << worst.count() << " ms; slowest attempt " << storm.slowest.count() << " ms\n";
    if (!kSanitized) {
        EXPECT_LT(worst, 100ms) << "an admitted client must not feel the flood (p99 " << p99.count() << " ms)";
    }
    EXPECT_TRUE(host->wait_for_log("max_connections reached", 5s));

    // The held slots come back: once they close, new clients are served again.
    storm.held.close_all();
    EXPECT_TRUE(wait_until([&] { return probe_new(port) == "PING\n"; }, 10s, 50ms));
}

TEST(LimitsAdmission, DenyListRefusesAtOnceWithTheBusyLine) {
    TempDir dir;
    auto host = start_upper(dir, [](ServiceSpec &s) { s.option("deny", "[127.0.0.1]"); });
    ASSERT_TRUE(host->wait_ready());

    TcpClient denied(host->port("upper"));
    expect_refused_promptly(denied, "127.0.0.1 is denied");
    EXPECT_TRUE(host->wait_for_log_line({"refused 127.0.0.1:", "source is in the deny list"}, 5s));
    TcpClient other = connect_from("127.0.0.2", host->port("upper"));
    EXPECT_EQ(probe(other), "PING\n") << "only 127.0.0.1 is denied";
}

TEST(LimitsAdmission, AllowListServesOnlyTheListedSource) {
    TempDir dir;
    auto host = start_upper(dir, [](ServiceSpec &s) { s.option("allow", "[127.0.0.2]"); });
    ASSERT_TRUE(host->wait_ready());

    TcpClient outsider(host->port("upper"));
    expect_refused_promptly(outsider, "127.0.0.1 is not in the allow list");
    EXPECT_TRUE(host->wait_for_log_line({"refused 127.0.0.1:", "not in the allow list"}, 5s));
    TcpClient allowed = connect_from("127.0.0.2", host->port("upper"));
    EXPECT_EQ(probe(allowed), "PING\n");
}

TEST(LimitsAdmission, PerSourceMaxCapsOneAddressNotOthers) {
    TempDir dir;
    auto host = start_upper(dir, [](ServiceSpec &s) { s.threads(2, 8).option("per_source_max", "3"); });
    ASSERT_TRUE(host->wait_ready());
    const auto port = host->port("upper");

    std::vector<TcpClient> three;
    for (int i = 0; i < 3; ++i) {
        three.emplace_back(port);
        ASSERT_EQ(probe(three.back()), "PING\n") << "connection " << i + 1 << " of 3 from 127.0.0.1";
    }
    TcpClient fourth(port);
    expect_refused_promptly(fourth, "a 4th connection from 127.0.0.1");
    EXPECT_TRUE(host->wait_for_log("per_source_max reached", 5s));

    TcpClient elsewhere = connect_from("127.0.0.2", port);
    EXPECT_EQ(probe(elsewhere), "PING\n") << "another source has its own allowance";

    three.pop_back(); // frees one slot once the host has seen the close
    EXPECT_TRUE(wait_until([&] { return probe_new(port) == "PING\n"; }, 5s, 20ms));
}

TEST(LimitsAdmission, AcceptRateAllowsABurstThenRefusesUntilRefilled) {
    TempDir dir;
    // One new connection per second per source, three at once.
    auto host = start_upper(dir, [](ServiceSpec &s) { s.option("accept_rate", "{per_second: 1, burst: 3}"); });
    ASSERT_TRUE(host->wait_ready());
    const auto port = host->port("upper");

    std::vector<TcpClient> burst;
    for (int i = 0; i < 3; ++i) {
        burst.emplace_back(port);
        ASSERT_EQ(probe(burst.back()), "PING\n") << "connection " << i + 1 << " of the burst";
    }
    const auto refused_at = Clock::now();
    TcpClient over(port);
    expect_refused_promptly(over, "the 4th connection within a second");
    EXPECT_TRUE(host->wait_for_log("exceeds accept_rate", 5s));

    // Refused attempts cost nothing; a token comes back within about a second.
    EXPECT_TRUE(wait_until([&] { return probe_new(port) == "PING\n"; }, 5s, 100ms));
    const Millis refill = since(refused_at);
    EXPECT_GT(refill, 300ms) << "accepted again too soon for a rate of 1/s";
    EXPECT_LT(refill, 3000ms);
    burst.front().send("open sessions are untouched\n");
    EXPECT_EQ(burst.front().read_line(), "OPEN SESSIONS ARE UNTOUCHED\n");
}

// max_queued 0: no waiting. Served while a worker is free, refused visibly
// (not dropped in silence) when none is, and served again once one frees up.
TEST(LimitsAdmission, MaxQueuedZeroServesWhileAWorkerIsFreeAndRefusesWhenNone) {
    TempDir dir;
    auto host = start_upper(dir, [](ServiceSpec &s) { s.threads(1, 2).option("max_queued", "0"); });
    ASSERT_TRUE(host->wait_ready());
    const auto port = host->port("upper");

    std::vector<TcpClient> workers_busy;
    for (int i = 0; i < 2; ++i) {
        workers_busy.emplace_back(port);
        ASSERT_EQ(probe(workers_busy.back()), "PING\n") << "connection " << i + 1 << " of 2 has a free worker";
    }
    TcpClient third(port);
    expect_refused_promptly(third, "both workers are busy and nothing may wait");
    EXPECT_TRUE(host->wait_for_log("every worker is busy", 5s));

    workers_busy.pop_back();
    EXPECT_TRUE(wait_until([&] { return probe_new(port) == "PING\n"; }, 5s, 20ms));
}

// One worker busy for 2.5 s; a second connection waits in the queue and is
// refused at queue_timeout (1 s) with the busy line instead of waiting on.
TEST(LimitsAdmission, QueueTimeoutRefusesAConnectionThatWaitedTooLong) {
    TempDir dir;
    ConfigBuilder config;
    config.plugin_dir(make_plugin_dir(dir, {test_plugin("slow")}));
    config.service("slow", "slow.reply")
        .threads(1, 1)
        .option("queue_timeout", "1s")
        .option("busy_message", yaml_quote("busy, try later"))
        .setting("delay_ms", "2500");
    PorticoProcess host(dir, config.yaml());
    ASSERT_TRUE(host.wait_ready());
    const auto port = host.port("slow");

    TcpClient holder(port);
    holder.send("first\n");
    ASSERT_TRUE(wait_server_read_all(holder)) << "the only worker should be busy with the first line";

    const auto queued_at = Clock::now();
    TcpClient waiting(port);
    const auto said = waiting.read_until_closed(1000ms + scaled<Millis>(2000ms, 4000ms));
    const Millis waited = since(queued_at);
    ASSERT_TRUE(said.has_value()) << "a queued connection must not wait forever";
    EXPECT_EQ(*said, kBusy);
    EXPECT_GE(waited, 900ms) << "refused before queue_timeout";
    EXPECT_TRUE(host.wait_for_log("(queue_timeout)", 5s));

    EXPECT_EQ(holder.read_line(5s), "done: first\n") << "the busy session finishes normally";
    holder.close(); // frees the only worker
    TcpClient next(port);
    next.send("second\n");
    EXPECT_EQ(next.read_line(5s), "done: second\n") << "the worker serves the next connection";
}

} // namespace
} // namespace portico::test
