// events_limits_admission_test.cpp — who gets in to a `mode: events`
// service: max_connections under a flood, allow/deny lists, per_source_max
// and accept_rate, as in mode threads: served, or refused at once with the
// busy_message, logged and counted, never left hanging.
#include "harness/AdminHost.h"
#include "harness/ConfigBuilder.h"
#include "harness/ConnectStorm.h"
#include "harness/HarnessError.h"
#include "harness/Json.h"
#include "harness/Paths.h"
#include "harness/PluginDir.h"
#include "harness/PorticoProcess.h"
#include "harness/Slowdown.h"
#include "harness/Sockets.h"
#include "harness/TcpClient.h"
#include "harness/TempDir.h"

#include <gtest/gtest.h>

#include <algorithm>
#include <atomic>
#include <iostream>
#include <memory>
#include <string>
#include <thread>
#include <vector>

namespace portico::test {
namespace {

using Clock = std::chrono::steady_clock;

const std::string kBusy = "busy, try later\r\n"; // busy_message "busy, try later" as the client sees it

Millis since(Clock::time_point start) {
    return std::chrono::duration_cast<Millis>(Clock::now() - start);
}

// A host serving upper.upper in mode events (one loop) as service "upper", tuned by `tune`.
template <class Tune> std::unique_ptr<PorticoProcess> start_upper(const TempDir &dir, Tune tune) {
    ConfigBuilder config;
    config.plugin_dir(make_plugin_dir(dir, {shipped_plugin("upper")}));
    tune(config.service("upper", "upper.upper").events(1).option("busy_message", yaml_quote("busy, try later")));
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

const Json &service_named(const Json &status, const std::string &name) {
    for (const Json &s : status["services"].array())
        if (s["name"].string() == name) return s;
    throw HarnessError("no service '" + name + "' in /status");
}

// 600 attempts against max_connections 50 on one loop: the 49 that fit next
// to a steady client are served, every other one is refused at once with the
// busy line and counted, none hangs, and the steady client keeps its pace.
TEST(EventsAdmission, MaxConnectionsFloodIsRefusedPromptlyAndCounted) {
    constexpr int kMaxConnections = 50;
    constexpr int kAttempts = 600;
    const std::size_t fd_limit = raise_fd_limit(2048);
    const int window = static_cast<int>(std::min<std::size_t>(100, fd_limit > 200 ? fd_limit - 200 : 0));
    if (window < 16) GTEST_SKIP() << "RLIMIT_NOFILE is " << fd_limit << "; this test needs about 300 descriptors";

    TempDir dir;
    AdminHostSpec spec;
    spec.plugin_dir = make_plugin_dir(dir, {shipped_plugin("upper")});
    spec.services = {{"upper", "upper.upper",
                      "    mode: events\n    events: {loops: 1}\n    max_connections: " +
                          std::to_string(kMaxConnections) + "\n    busy_message: \"busy, try later\"\n"}};
    AdminHost host(dir, spec);
    const auto port = host.port("upper");

    TcpClient steady(port);
    ASSERT_EQ(probe(steady), "PING\n");
    std::atomic<bool> storm_done{false};
    std::vector<Millis> latencies;
    std::string steady_error;
    std::thread pacer([&] {
        try {
            while (!storm_done) {
                const auto start = Clock::now();
                steady.send("still here\n");
                if (steady.read_line(2s) != "STILL HERE\n") throw HarnessError("wrong reply");
                latencies.push_back(since(start));
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
    EXPECT_EQ(storm.served, kMaxConnections - 1) << "the steady client holds the 50th slot";
    EXPECT_EQ(storm.refused, kAttempts - (kMaxConnections - 1));
    EXPECT_EQ(storm.refused_saying[kBusy], storm.refused) << "every refused client gets the busy line first";
    for (const auto &[said, count] : storm.refused_saying)
        if (said != kBusy) ADD_FAILURE() << count << " refused attempts received \"" << said << "\"";
    EXPECT_LT(storm.slowest, 5000ms);

    ASSERT_TRUE(steady_error.empty()) << "the steady client failed during the flood: " << steady_error;
    ASSERT_FALSE(latencies.empty());
    const Millis worst = *std::max_element(latencies.begin(), latencies.end());
    std::cout << "steady client during the flood: " << latencies.size() << " round trips, max " << worst.count()
              << " ms; slowest attempt " << storm.slowest.count() << " ms\n";
    if (!kSanitized) {
        EXPECT_LT(worst, 250ms) << "an admitted client must not feel the flood";
    }

    EXPECT_TRUE(
        host.process().wait_for_log_line({"service 'upper': refused 127.0.0.1:", "max_connections reached"}, 5s));
    const Json status = Json::parse(host.get("/status").body);
    const Json &upper = service_named(status, "upper");
    EXPECT_EQ(upper["mode"].string(), "events");
    EXPECT_EQ(upper["connections"]["refused"].number(), storm.refused) << "every refusal is counted";

    // The held slots come back: once they close, new clients are served again.
    storm.held.close_all();
    EXPECT_TRUE(wait_until([&] { return probe_new(port) == "PING\n"; }, 10s, 50ms));
}

TEST(EventsAdmission, DenyAndAllowListsRefuseAtOnceWithTheBusyLine) {
    TempDir dir;
    ConfigBuilder config;
    config.plugin_dir(make_plugin_dir(dir, {shipped_plugin("upper")}));
    config.service("denying", "upper.upper")
        .events(1)
        .option("deny", "[127.0.0.1]")
        .option("busy_message", yaml_quote("busy, try later"));
    config.service("allowing", "upper.upper")
        .events(1)
        .option("allow", "[127.0.0.2]")
        .option("busy_message", yaml_quote("busy, try later"));
    PorticoProcess host(dir, config.yaml());
    ASSERT_TRUE(host.wait_ready());

    TcpClient denied(host.port("denying"));
    expect_refused_promptly(denied, "127.0.0.1 is denied");
    EXPECT_TRUE(host.wait_for_log_line({"service 'denying': refused 127.0.0.1:", "source is in the deny list"}, 5s));
    TcpClient other = connect_from("127.0.0.2", host.port("denying"));
    EXPECT_EQ(probe(other), "PING\n") << "only 127.0.0.1 is denied";

    TcpClient outsider(host.port("allowing"));
    expect_refused_promptly(outsider, "127.0.0.1 is not in the allow list");
    EXPECT_TRUE(host.wait_for_log_line({"service 'allowing': refused 127.0.0.1:", "not in the allow list"}, 5s));
    TcpClient allowed = connect_from("127.0.0.2", host.port("allowing"));
    EXPECT_EQ(probe(allowed), "PING\n");
}

TEST(EventsAdmission, PerSourceMaxCapsOneAddressNotOthers) {
    TempDir dir;
    auto host = start_upper(dir, [](ServiceSpec &s) { s.option("per_source_max", "3"); });
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
    three.front().send("the others are untouched\n");
    EXPECT_EQ(three.front().read_line(), "THE OTHERS ARE UNTOUCHED\n");
}

TEST(EventsAdmission, AcceptRateAllowsABurstThenRefusesUntilRefilled) {
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

} // namespace
} // namespace portico::test
