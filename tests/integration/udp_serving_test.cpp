// udp_serving_test.cpp — UDP services from a user's chair: start portico with
// datagram plugins, send datagrams, check every reply; then the edges: empty
// and oversized datagrams, allow/deny, per-source rate limit, IPv6, a
// throwing handler, and the SDK's peer address, send_to and ServiceContext.
#include "harness/ConfigBuilder.h"
#include "harness/Paths.h"
#include "harness/PluginDir.h"
#include "harness/PorticoProcess.h"
#include "harness/Sockets.h"
#include "harness/TempDir.h"
#include "harness/Text.h"
#include "harness/UdpClient.h"
#include "harness/UdpLoad.h"

#include <gtest/gtest.h>

#include <csignal>
#include <memory>
#include <thread>
#include <vector>

namespace portico::test {
namespace {

// A host with the UDP plugins; `add_services` fills in the services.
template <class AddServices> std::unique_ptr<PorticoProcess> start_udp(const TempDir &dir, AddServices add_services) {
    ConfigBuilder config;
    config.plugin_dir(
        make_plugin_dir(dir, {shipped_plugin("udp_upper"), shipped_plugin("udp_echo"), test_plugin("udp_probe")}));
    add_services(config);
    return std::make_unique<PorticoProcess>(dir, config.yaml());
}

ServiceSpec &udp(ConfigBuilder &config, std::string name, std::string handler) {
    return config.service(std::move(name), std::move(handler)).option("protocol", "udp");
}

// udp_upper answers byte for byte (the UDPServer example, with strip(), is in seeds_test.cpp).
TEST(UdpServing, UpperAnswersADatagramUpperCased) {
    TempDir dir;
    auto host = start_udp(dir, [](ConfigBuilder &c) { udp(c, "upper", "udp_upper"); });
    ASSERT_TRUE(host->wait_ready());

    UdpClient client(host->port("upper"));
    EXPECT_EQ(client.request("Hello, Server!"), "HELLO, SERVER!");
    EXPECT_EQ(client.request("second one\n"), "SECOND ONE\n") << "bytes come back as sent, newline included";
}

TEST(UdpServing, EightClientsTimesTwoThousandDatagramsAllAnsweredCorrectly) {
    TempDir dir;
    auto host = start_udp(
        dir, [](ConfigBuilder &c) { udp(c, "upper", "udp_upper").threads(2, 8).option("max_queued", "1024"); });
    ASSERT_TRUE(host->wait_ready());
    const auto port = host->port("upper");

    constexpr int kClients = 8;
    std::vector<UdpLoadResult> results(kClients);
    std::vector<std::thread> threads;
    for (int i = 0; i < kClients; ++i) {
        threads.emplace_back([&, i] {
            UdpClient client(port);
            UdpLoadSpec spec;
            spec.tag = "client" + std::to_string(i);
            spec.datagrams = 2000;
            spec.per_second = 2000; // 16k datagrams/s in all: moderate for loopback
            results[i] = run_udp_load(client, spec, [](const std::string &p) { return std::vector{upper_cased(p)}; });
        });
    }
    for (auto &thread : threads)
        thread.join();

    std::size_t answered = 0;
    for (int i = 0; i < kClients; ++i) {
        SCOPED_TRACE("client " + std::to_string(i) + ": " + results[i].summary());
        EXPECT_EQ(results[i].sent, 2000u);
        EXPECT_EQ(results[i].missing(), 0u) << "datagrams lost on loopback at a moderate rate";
        EXPECT_EQ(results[i].wrong, 0u);
        EXPECT_EQ(results[i].duplicates, 0u);
        answered += results[i].answered;
    }
    EXPECT_EQ(answered, 16'000u);
    EXPECT_TRUE(lines_containing(host->log_text(), {"dropped a datagram"}).empty()) << host->log_text();
}

TEST(UdpServing, EmptyDatagramIsHandledAndAnswered) {
    TempDir dir;
    auto host = start_udp(dir, [](ConfigBuilder &c) {
        udp(c, "echo", "udp_echo");
        udp(c, "upper", "udp_upper");
    });
    ASSERT_TRUE(host->wait_ready());

    UdpClient echo(host->port("echo"));
    EXPECT_EQ(echo.request(""), "");
    UdpClient upper_client(host->port("upper"));
    EXPECT_EQ(upper_client.request(""), "");
    EXPECT_EQ(echo.request("still here"), "still here");
}

TEST(UdpServing, OversizedDatagramIsDroppedAndLoggedWithItsSender) {
    TempDir dir;
    auto host = start_udp(dir, [](ConfigBuilder &c) { udp(c, "echo", "udp_echo").option("max_datagram", "100"); });
    ASSERT_TRUE(host->wait_ready());

    UdpClient client(host->port("echo"));
    const std::string limit(100, 'x');
    EXPECT_EQ(client.request(limit), limit) << "a datagram of exactly max_datagram bytes is served";

    client.send(std::string(101, 'y'));
    client.send(std::string(65'000, 'z'));
    EXPECT_EQ(client.receive(300ms), std::nullopt) << "oversized datagrams must not be handled";
    const std::string peer = "127.0.0.1:" + std::to_string(client.local_port());
    EXPECT_TRUE(host->wait_for_log_line({"dropped a datagram from " + peer, "too large", "101 bytes"}, 2s))
        << host->log_text();

    EXPECT_EQ(client.request("after"), "after") << "the service goes on after oversized datagrams";
    EXPECT_EQ(client.request(""), "");
}

TEST(UdpServing, DeniedAndNotAllowedSourcesGetNoReply) {
    TempDir dir;
    auto host = start_udp(dir, [](ConfigBuilder &c) {
        udp(c, "denied", "udp_echo").option("deny", "[127.0.0.0/8]");
        udp(c, "not_allowed", "udp_echo").option("allow", "[10.0.0.0/8, \"::1\"]");
        udp(c, "allowed", "udp_echo").option("allow", "[127.0.0.1]").option("deny", "[10.0.0.0/8]");
    });
    ASSERT_TRUE(host->wait_ready());

    UdpClient denied(host->port("denied"));
    denied.send("hello");
    UdpClient not_allowed(host->port("not_allowed"));
    not_allowed.send("hello");
    EXPECT_EQ(denied.receive(300ms), std::nullopt);
    EXPECT_EQ(not_allowed.receive(50ms), std::nullopt);
    EXPECT_TRUE(host->wait_for_log_line({"service 'denied'", "source not allowed"}, 2s)) << host->log_text();
    EXPECT_TRUE(host->wait_for_log_line({"service 'not_allowed'", "source not allowed"}, 2s)) << host->log_text();

    UdpClient allowed(host->port("allowed"));
    EXPECT_EQ(allowed.request("hello"), "hello");
}

TEST(UdpServing, PerSourceRateLimitDropsTheExcess) {
    TempDir dir;
    auto host = start_udp(
        dir, [](ConfigBuilder &c) { udp(c, "echo", "udp_echo").option("rate_limit", "{per_second: 5, burst: 5}"); });
    ASSERT_TRUE(host->wait_ready());

    UdpClient client(host->port("echo"));
    for (int i = 0; i < 30; ++i)
        client.send("d" + std::to_string(i));
    int replies = 0;
    while (client.receive(300ms))
        ++replies;
    // The burst of 5, plus what refills while 30 datagrams are sent (well under a second).
    EXPECT_GE(replies, 5);
    EXPECT_LE(replies, 8);
    EXPECT_TRUE(host->wait_for_log_line({"dropped a datagram from 127.0.0.1:", "rate limit"}, 2s)) << host->log_text();

    std::this_thread::sleep_for(1200ms); // the bucket refills
    EXPECT_EQ(client.request("again"), "again");
}

TEST(UdpServing, ServesIpv6) {
    if (!ipv6_loopback_available()) GTEST_SKIP() << "no IPv6 loopback on this machine";
    TempDir dir;
    auto host = start_udp(dir, [](ConfigBuilder &c) {
        udp(c, "upper6", "udp_upper").listen("[::1]:0");
        udp(c, "probe6", "udp_probe.probe").listen("[::1]:0").option("allow", "[\"::1/128\"]");
    });
    ASSERT_TRUE(host->wait_ready());

    UdpClient client(host->port("upper6"), "::1");
    EXPECT_EQ(client.request("over ipv6"), "OVER IPV6");
    UdpClient probe(host->port("probe6"), "::1");
    EXPECT_EQ(probe.request("peer"), "peer [::1]:" + std::to_string(probe.local_port()));
}

TEST(UdpServing, SdkGivesPeerAddressSendToAndPerServiceContext) {
    TempDir dir;
    auto host = start_udp(dir, [](ConfigBuilder &c) {
        udp(c, "red", "udp_probe.probe").setting("tag", "red");
        udp(c, "blue", "udp_probe.probe").setting("tag", "blue");
    });
    ASSERT_TRUE(host->wait_ready());

    UdpClient red(host->port("red"));
    UdpClient blue(host->port("blue"));
    EXPECT_EQ(red.request("peer"), "peer 127.0.0.1:" + std::to_string(red.local_port()));
    // Each service has its own context: its own tag and its own counter.
    EXPECT_EQ(red.request("a"), "red#1 a");
    EXPECT_EQ(red.request("b"), "red#2 b");
    EXPECT_EQ(blue.request("c"), "blue#1 c");

    // send_to leaves from the service's socket: `watcher`, connected to the
    // red service, receives what red sends it.
    UdpClient watcher(host->port("red"));
    EXPECT_EQ(red.request("fwd 127.0.0.1:" + std::to_string(watcher.local_port()) + " forwarded text"), "sent");
    EXPECT_EQ(watcher.receive(2s), "forwarded text");
}

TEST(UdpServing, ThrowingHandlerIsCountedAndTheServiceGoesOn) {
    TempDir dir;
    auto host = start_udp(dir, [](ConfigBuilder &c) { udp(c, "probe", "udp_probe.probe"); });
    ASSERT_TRUE(host->wait_ready());

    UdpClient client(host->port("probe"));
    client.send("throw");
    EXPECT_EQ(client.receive(300ms), std::nullopt);
    EXPECT_TRUE(host->wait_for_log_line({"asked to throw"}, 2s)) << host->log_text();
    EXPECT_EQ(client.request("fine"), "probe#1 fine");
}

TEST(UdpServing, SigtermStopsAUdpHostPromptly) {
    TempDir dir;
    auto host = start_udp(dir, [](ConfigBuilder &c) { udp(c, "echo", "udp_echo"); });
    ASSERT_TRUE(host->wait_ready());
    UdpClient client(host->port("echo"));
    EXPECT_EQ(client.request("x"), "x");
    host->send_signal(SIGTERM);
    EXPECT_EQ(host->wait_exit(3s), ExitStatus::exited(0));
}

} // namespace
} // namespace portico::test
