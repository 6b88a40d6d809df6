// proxy_protocol_test.cpp — `proxy_protocol:` on TCP services, from the
// client's side, in mode threads and mode events: behind Debian's haproxy
// (send-proxy, send-proxy-v2, TLS passed through) the handler, the access log
// and admission (per_source_max, allow/deny) see the real client while
// proxy() names haproxy; clients writing their own headers stand in for
// proxies at other addresses (proxy_from); missing, garbage, truncated,
// oversized and slow headers are refused and counted, and never hold up
// another client; mode process's workers read the headers too.
#include "harness/AdminHost.h"
#include "harness/Deadline.h"
#include "harness/ExitStatus.h"
#include "harness/Haproxy.h"
#include "harness/Modes.h"
#include "harness/Paths.h"
#include "harness/PluginDir.h"
#include "harness/PorticoProcess.h"
#include "harness/PrometheusParser.h"
#include "harness/ProxyHeaders.h"
#include "harness/Sockets.h"
#include "harness/TcpClient.h"
#include "harness/TempDir.h"
#include "harness/Text.h"
#include "harness/TlsCerts.h"
#include "harness/TlsClient.h"

#include <gtest/gtest.h>

#include <regex>
#include <string>
#include <thread>

namespace portico::test {
namespace {

namespace fs = std::filesystem;

class ProxyProtocolTest : public ::testing::TestWithParam<std::string> {
protected:
    TempDir dir{"portico-proxy"};
    fs::path plugins = make_plugin_dir(dir, {test_plugin("proxy_info")});

    // A service entry of the proxyinfo plugin in the test's mode.
    AdminServiceSpec whoami(const std::string &name, const std::string &extra) const {
        return {name, "proxyinfo.whoami", mode_keys(GetParam()) + "    access_log: true\n" + extra};
    }
    AdminHostSpec spec(std::vector<AdminServiceSpec> services) const {
        AdminHostSpec out;
        out.plugin_dir = plugins;
        out.services = std::move(services);
        return out;
    }
};

// What the handler said first: "peer=… proxy=… tls=0\n".
std::string first_line(TcpClient &client) {
    return client.read_line(10s).value_or("(closed)");
}

// The host closed `client` without a word: refused before any handler ran.
void expect_refused(TcpClient &client, const std::string &why) {
    const auto rest = client.read_until_closed(5s);
    ASSERT_TRUE(rest.has_value()) << why << ": the connection is still open";
    EXPECT_EQ(*rest, "") << why << ": a handler answered";
}

// A client that connects to `port` and writes its own header first.
TcpClient with_header(std::uint16_t port, const std::string &header, const std::string &from = "127.0.0.1") {
    TcpClient client = connect_from(from, port);
    client.send(header);
    return client;
}

double refused(const ParsedMetrics &m, const std::string &service, const std::string &reason) {
    return m.at("portico_service_connections_refused_total{reason=\"" + reason + "\",service=\"" + service + "\"}");
}

ParsedMetrics metrics(const TempDir &dir, AdminHost &host) {
    return parse_with_prometheus_client(dir, host.get("/metrics").body);
}

// haproxy relays clients from 127.0.0.5 with v1 and then v2 headers: the
// handler's peer() is the client and proxy() haproxy, the client's bytes
// follow the header intact, the access log names both; v2's health checks
// (LOCAL) are served as the proxy's own connections, never refused.
TEST_P(ProxyProtocolTest, BehindHaproxyTheHandlerAndAccessLogSeeTheClient) {
    AdminHost host(dir, spec({whoami("who", "    proxy_protocol: any\n    proxy_from: [127.0.0.1]\n")}));
    PorticoProcess &log = host.process();
    // The health check waits for the handler's greeting (tcp-check expect):
    // a bare TCP check resets its connection as soon as it is up, which in
    // mode threads can come before a worker has read the LOCAL header.
    for (const std::string options : {"send-proxy", "send-proxy-v2 check inter 200ms\n"
                                                    "  option tcp-check\n"
                                                    "  tcp-check expect rstring ^peer="}) {
        SCOPED_TRACE(options);
        const Haproxy haproxy(dir, options.substr(0, 13), host.port("who"), options);
        TcpClient client = connect_from("127.0.0.5", haproxy.port());
        const std::string client_address = "127.0.0.5:" + std::to_string(client.local_port());
        const std::string line = first_line(client);
        EXPECT_TRUE(std::regex_match(line, std::regex("peer=" + client_address + R"( proxy=127\.0\.0\.1:\d+ tls=0\n)")))
            << line << "haproxy said:\n"
            << haproxy.output();
        client.send("through haproxy\n");
        EXPECT_EQ(client.read_line(10s).value_or("(closed)"), "THROUGH HAPROXY\n");
        client.close();
        EXPECT_TRUE(log.wait_for_log_line({"access service=who peer=" + client_address + " proxy=127.0.0.1:"}, 10s))
            << log.log_text();
        if (options.find("check") != std::string::npos) {
            // LOCAL carries no addresses: the connection is the proxy's.
            EXPECT_TRUE(log.wait_for_log(std::regex(R"(access service=who peer=127\.0\.0\.1:\d+ handler=)"), 10s))
                << log.log_text();
        }
    }
    EXPECT_EQ(log.count_log_lines({"PROXY header"}), 0u) << log.log_text();
    EXPECT_EQ(refused(metrics(dir, host), "who", "proxy_header"), 0);
}

// Admission runs on the client the header names, not on the proxy:
// per_source_max behind haproxy (every connection comes from 127.0.0.1),
// allow/deny on clients that write their own headers, and proxy_from on the
// peer itself.
TEST_P(ProxyProtocolTest, AdmissionUsesTheClientAddressAndProxyFromThePeer) {
    AdminHost host(dir, spec({whoami("capped", "    proxy_protocol: v2\n    per_source_max: 1\n"),
                              whoami("filtered", "    proxy_protocol: v1\n    allow: [10.0.0.0/8]\n"
                                                 "    deny: [10.9.0.0/16]\n"),
                              whoami("fenced", "    proxy_protocol: any\n    proxy_from: [127.0.0.2]\n")}));
    PorticoProcess &log = host.process();

    const Haproxy haproxy(dir, "capped", host.port("capped"), "send-proxy-v2");
    TcpClient first = connect_from("127.0.0.2", haproxy.port());
    EXPECT_TRUE(first_line(first).starts_with("peer=127.0.0.2:")) << haproxy.output();
    TcpClient second = connect_from("127.0.0.2", haproxy.port());
    expect_refused(second, "a second connection of client 127.0.0.2 (per_source_max 1)");
    EXPECT_TRUE(log.wait_for_log_line(
        {"service 'capped': refused 127.0.0.2:", "(via proxy 127.0.0.1:", "per_source_max reached"}, 5s))
        << log.log_text();
    TcpClient other = connect_from("127.0.0.3", haproxy.port());
    EXPECT_TRUE(first_line(other).starts_with("peer=127.0.0.3:")) << "another client, through the same proxy";

    // The peer, 127.0.0.1, is in neither list: only the clients' addresses count.
    const std::uint16_t filtered = host.port("filtered");
    TcpClient allowed = with_header(filtered, proxy_v1("10.1.2.3", 5555, "127.0.0.1", filtered));
    EXPECT_EQ(first_line(allowed),
              "peer=10.1.2.3:5555 proxy=127.0.0.1:" + std::to_string(allowed.local_port()) + " tls=0\n");
    TcpClient denied = with_header(filtered, proxy_v1("10.9.1.1", 5555, "127.0.0.1", filtered));
    expect_refused(denied, "client 10.9.1.1 is denied");
    EXPECT_TRUE(log.wait_for_log_line(
        {"service 'filtered': refused 10.9.1.1:5555 (via proxy 127.0.0.1:", "source is in the deny list"}, 5s))
        << log.log_text();
    TcpClient outsider = with_header(filtered, proxy_v1("192.0.2.1", 5555, "127.0.0.1", filtered));
    expect_refused(outsider, "client 192.0.2.1 is not allowed");

    const std::uint16_t fenced = host.port("fenced");
    TcpClient stranger = with_header(fenced, proxy_v2("10.0.0.7", 1000, "127.0.0.1", fenced));
    expect_refused(stranger, "127.0.0.1 is not in proxy_from");
    EXPECT_TRUE(log.wait_for_log_line({"service 'fenced': refused 127.0.0.1:", "not a proxy listed in proxy_from"}, 5s))
        << log.log_text();
    TcpClient trusted = with_header(fenced, proxy_v2("10.0.0.7", 1000, "127.0.0.1", fenced), "127.0.0.2");
    EXPECT_EQ(first_line(trusted),
              "peer=10.0.0.7:1000 proxy=127.0.0.2:" + std::to_string(trusted.local_port()) + " tls=0\n");

    ParsedMetrics m;
    const bool counted = wait_until(
        [&] {
            m = metrics(dir, host);
            return refused(m, "capped", "per_source_max") == 1 && refused(m, "filtered", "allow_deny") == 2 &&
                   refused(m, "fenced", "proxy_from") == 1;
        },
        10s);
    EXPECT_TRUE(counted) << "per_source_max " << refused(m, "capped", "per_source_max") << ", allow_deny "
                         << refused(m, "filtered", "allow_deny") << ", proxy_from "
                         << refused(m, "fenced", "proxy_from");
}

// The handler's own verify_request (hooks.guarded: only 127.0.0.1 peers)
// judges the client the header names, not the load balancer: both clients
// come through the proxy at 127.0.0.1, one is let in, the other refused
// with the handler's message and counted under reason="verify_request".
TEST_P(ProxyProtocolTest, VerifyRequestJudgesTheClientTheHeaderNames) {
    const fs::path hooks_plugins = make_plugin_dir(dir, {test_plugin("hooks")});
    AdminHostSpec guarded;
    guarded.plugin_dir = hooks_plugins;
    guarded.services = {{"guarded", "hooks.guarded", mode_keys(GetParam()) + "    proxy_protocol: v1\n"}};
    AdminHost host(dir, guarded);
    const std::uint16_t port = host.port("guarded");

    TcpClient loopback = with_header(port, proxy_v1("127.0.0.1", 4000, "127.0.0.1", port));
    loopback.send("hello\n");
    EXPECT_EQ(loopback.read_line(10s).value_or("(closed)"), "hello\n") << host.process().log_text();
    TcpClient remote = with_header(port, proxy_v1("10.0.0.9", 4000, "127.0.0.1", port));
    const auto said = remote.read_until_closed(10s);
    ASSERT_TRUE(said.has_value()) << "the refused client's connection is still open";
    EXPECT_EQ(*said, "refused: 10.0.0.9:4000\n");
    ParsedMetrics m;
    EXPECT_TRUE(wait_until(
        [&] {
            m = metrics(dir, host);
            return refused(m, "guarded", "verify_request") == 1;
        },
        10s))
        << "verify_request refusals: " << refused(m, "guarded", "verify_request");
}

// A header that dribbles in one byte per 200 ms holds up nobody (mode events
// runs both on one loop) and is cut at proxy_timeout; no header, garbage, a
// truncated, an over-long v1 and an oversized v2 header are refused at once.
// Each is counted under reason="proxy_header"; the host serves on.
TEST_P(ProxyProtocolTest, BadAndSlowHeadersAreRefusedWithoutHoldingUpOthers) {
    AdminHost host(dir, spec({whoami("who", "    proxy_protocol: any\n    proxy_timeout: 1s\n")}));
    PorticoProcess &log = host.process();
    const std::uint16_t port = host.port("who");
    const std::string good = proxy_v1("10.0.0.1", 4000, "127.0.0.1", port);

    TcpClient slow(port);
    const auto dribble_started = std::chrono::steady_clock::now();
    bool cut = false;
    for (std::size_t i = 0; i < good.size() && !cut; ++i) {
        try {
            slow.send(good.substr(i, 1));
        } catch (const HarnessError &) {
            cut = true; // the host closed it: sending failed
        }
        if (i == 1) {
            // Mid-dribble: another client is served at once.
            TcpClient other = with_header(port, proxy_v2("10.0.0.2", 4001, "127.0.0.1", port));
            EXPECT_EQ(other.read_line(2s).value_or("(closed)"),
                      "peer=10.0.0.2:4001 proxy=127.0.0.1:" + std::to_string(other.local_port()) + " tls=0\n");
        }
        if (std::chrono::steady_clock::now() - dribble_started > 3s) break;
        std::this_thread::sleep_for(200ms);
    }
    expect_refused(slow, "a header dribbled one byte per 200 ms");
    EXPECT_TRUE(log.wait_for_log_line({"service 'who': refused 127.0.0.1:", "no complete PROXY header within"}, 5s))
        << log.log_text();

    TcpClient none(port);
    none.send("ping\n");
    expect_refused(none, "no header, a client's line");
    TcpClient garbage(port);
    garbage.send(std::string("\x16\x03\x01\x00\xff garbage\r\n", 15));
    expect_refused(garbage, "garbage");
    TcpClient truncated(port);
    truncated.send(good.substr(0, 20));
    truncated.shutdown_write();
    expect_refused(truncated, "a header cut short by the client's FIN");
    TcpClient long_v1(port);
    long_v1.send("PROXY TCP4 " + std::string(200, '1'));
    expect_refused(long_v1, "a v1 line past 107 bytes");
    TcpClient oversized(port);
    oversized.send(proxy_v2("10.0.0.3", 4002, "127.0.0.1", port, 8000));
    expect_refused(oversized, "a v2 header of 8 KiB");

    ParsedMetrics m;
    EXPECT_TRUE(wait_until(
        [&] {
            m = metrics(dir, host);
            return refused(m, "who", "proxy_header") == 6;
        },
        10s))
        << "proxy_header refusals: " << refused(m, "who", "proxy_header");
    EXPECT_EQ(m.at("portico_service_connections_total{service=\"who\"}"), 1)
        << "only the good client reached a handler";
    TcpClient after = with_header(port, good);
    EXPECT_EQ(first_line(after),
              "peer=10.0.0.1:4000 proxy=127.0.0.1:" + std::to_string(after.local_port()) + " tls=0\n");
    EXPECT_TRUE(log.running());
}

// TLS: the PROXY header comes first in plain bytes, then the handshake.
// haproxy passes TLS through untouched (mode tcp) with send-proxy-v2; a
// client writing its own header before handshaking is served the same way.
TEST_P(ProxyProtocolTest, TlsServiceBehindAProxy) {
    const TlsCerts certs(dir);
    const TlsClient python(dir);
    const std::string ca = certs.ca().string();
    AdminHost host(dir,
                   spec({whoami("secure", "    proxy_protocol: v2\n    tls: " + tls_map(certs.server_one()) + "\n")}));
    const std::uint16_t port = host.port("secure");

    const Haproxy haproxy(dir, "tls", port, "send-proxy-v2");
    const ToolResult relayed = python.run(haproxy.port(), {"--ca", ca, "--lines", "1", "--send", "via haproxy"});
    EXPECT_EQ(relayed.status, ExitStatus::exited(0)) << relayed.describe() << haproxy.output();
    EXPECT_TRUE(
        std::regex_search(relayed.output, std::regex(R"(line=peer=127\.0\.0\.1:\d+ proxy=127\.0\.0\.1:\d+ tls=1)")))
        << relayed.output;
    EXPECT_TRUE(contains(relayed.output, "line=VIA HAPROXY")) << relayed.output;

    const ToolResult direct =
        python.run(port, {"--ca", ca, "--proxy-header", to_hex(proxy_v2("10.7.7.7", 7777, "127.0.0.1", port)),
                          "--lines", "1", "--send", "direct"});
    EXPECT_EQ(direct.status, ExitStatus::exited(0)) << direct.describe();
    EXPECT_TRUE(
        std::regex_search(direct.output, std::regex(R"(line=peer=10\.7\.7\.7:7777 proxy=127\.0\.0\.1:\d+ tls=1)")))
        << direct.output;
    EXPECT_TRUE(contains(direct.output, "line=DIRECT")) << direct.output;
    EXPECT_TRUE(host.process().wait_for_log_line({"access service=secure peer=10.7.7.7:7777 proxy=127.0.0.1:"}, 5s));
}

// Mode process: each worker reads the headers of the connections it takes.
TEST(ProxyProtocolProcessMode, WorkersServeTheClientTheHeaderNames) {
    const TempDir dir{"portico-proxy-process"};
    AdminHostSpec spec;
    spec.plugin_dir = make_plugin_dir(dir, {test_plugin("proxy_info")});
    spec.services = {{"proc", "proxyinfo.whoami", "    mode: process\n    workers: 2\n    proxy_protocol: v2\n"}};
    AdminHost host(dir, spec);
    const std::uint16_t port = host.port("proc");
    for (int i = 0; i < 4; ++i) {
        TcpClient client =
            with_header(port, proxy_v2("10.4.4.4", static_cast<std::uint16_t>(4440 + i), "127.0.0.1", port));
        EXPECT_EQ(first_line(client), "peer=10.4.4.4:" + std::to_string(4440 + i) +
                                          " proxy=127.0.0.1:" + std::to_string(client.local_port()) + " tls=0\n");
    }
    TcpClient none(port);
    none.send("ping\n");
    expect_refused(none, "no header, mode process");
    EXPECT_TRUE(host.process().wait_for_log_line({"service 'proc': refused 127.0.0.1:", "invalid PROXY header"}, 5s))
        << host.process().log_text();
}

INSTANTIATE_TEST_SUITE_P(Modes, ProxyProtocolTest, ::testing::Values("threads", "events"),
                         [](const auto &info) { return info.param; });

} // namespace
} // namespace portico::test
