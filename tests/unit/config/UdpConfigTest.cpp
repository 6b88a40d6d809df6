// UdpConfigTest.cpp — the keys of UDP services (max_datagram, allow, deny,
// rate_limit): loaded when right, reported with line:column when wrong, and
// the UDP-only ones refused on TCP services, which would silently ignore them.
#include "ConfigIssues.h"
#include "config/ConfigLoader.h"

#include <gtest/gtest.h>

using portico::host::ConfigError;
using portico::host::ListenAddress;
using portico::host::load_config_text;
using portico::host::Protocol;

namespace {

std::string udp_service(const std::string &extra) {
    return "plugins: {dir: plugins}\n"
           "services:\n"
           "  - name: up\n"
           "    listen: 127.0.0.1:9996\n"
           "    protocol: udp\n"
           "    handler: udp_upper\n" +
           extra;
}

std::vector<std::string> issues_of(const std::string &yaml) {
    return portico::test::config_issues(yaml);
}

TEST(UdpConfig, DefaultsFollowSocketserver) {
    const auto config = load_config_text(udp_service(""), "t.yaml");
    const auto &svc = config.services.at(0);
    EXPECT_EQ(svc.protocol, Protocol::udp);
    EXPECT_EQ(svc.max_datagram, 8192u);
    EXPECT_TRUE(svc.allow.empty());
    EXPECT_TRUE(svc.deny.empty());
    EXPECT_EQ(svc.rate_limit.per_second, 0);
}

TEST(UdpConfig, LoadsEveryUdpKey) {
    const auto config = load_config_text(udp_service("    max_datagram: 1KiB\n"
                                                     "    allow: [127.0.0.0/8, \"::1\"]\n"
                                                     "    deny: [127.0.0.2]\n"
                                                     "    rate_limit: {per_second: 100, burst: 20}\n"),
                                         "t.yaml");
    const auto &svc = config.services.at(0);
    EXPECT_EQ(svc.max_datagram, 1024u);
    ASSERT_EQ(svc.allow.size(), 2u);
    EXPECT_EQ(svc.allow[0].to_string(), "127.0.0.0/8");
    EXPECT_EQ(svc.allow[1].to_string(), "::1/128");
    ASSERT_EQ(svc.deny.size(), 1u);
    EXPECT_EQ(svc.deny[0].to_string(), "127.0.0.2/32");
    EXPECT_EQ(svc.rate_limit.per_second, 100);
    EXPECT_EQ(svc.rate_limit.burst, 20);
}

TEST(UdpConfig, BadEntriesAreReportedWhereTheyAre) {
    const auto issues = issues_of(udp_service("    max_datagram: 70000\n"
                                              "    allow: [127.0.0.0/8, 10.1.2.3/8, nonsense]\n"
                                              "    deny: 127.0.0.1\n"
                                              "    rate_limit: {burst: 5, per_sec: 3}\n"));
    const std::vector<std::string> expected_fragments = {
        "t.yaml:7:19: services[0].max_datagram: must be at most",
        "t.yaml:8:26: services[0].allow[1]: '10.1.2.3/8' has host bits set",
        "t.yaml:8:38: services[0].allow[2]: expected an IP address or network",
        "t.yaml:9:11: services[0].deny: expected a list of IP addresses or networks",
        "services[0].rate_limit.per_sec: unknown key",
        "services[0].rate_limit: missing required key 'per_second'",
    };
    std::string all;
    for (const auto &issue : issues)
        all += issue + "\n";
    for (const auto &fragment : expected_fragments)
        EXPECT_NE(all.find(fragment), std::string::npos) << "missing: " << fragment << "\nin:\n" << all;
}

TEST(UdpConfig, TcpServicesRefuseUdpOnlyKeys) {
    const auto issues = issues_of("plugins: {dir: plugins}\n"
                                  "services:\n"
                                  "  - name: up\n"
                                  "    listen: 127.0.0.1:9999\n"
                                  "    handler: upper\n"
                                  "    rate_limit: {per_second: 5}\n"
                                  "    max_datagram: 100\n");
    ASSERT_EQ(issues.size(), 2u);
    EXPECT_EQ(issues[0], "t.yaml:6:17: services[0].rate_limit: applies to protocol udp only so far; remove it or "
                         "set protocol: udp");
    EXPECT_NE(issues[1].find("t.yaml:7:19: services[0].max_datagram: applies to protocol udp only"), std::string::npos);
}

TEST(UdpConfig, UdpMayListenOnAUnixPath) {
    const auto config = load_config_text("plugins: {dir: plugins}\n"
                                         "services:\n"
                                         "  - name: up\n"
                                         "    listen: unix:/tmp/x.sock\n"
                                         "    protocol: udp\n"
                                         "    unix_mode: \"0600\"\n"
                                         "    handler: udp_upper\n",
                                         "t.yaml");
    ASSERT_EQ(config.services.size(), 1u);
    EXPECT_EQ(config.services[0].protocol, Protocol::udp);
    EXPECT_EQ(config.services[0].listen.kind, ListenAddress::Kind::unix_path);
    EXPECT_EQ(config.services[0].unix_mode, 0600);
}

TEST(UdpConfig, UdpAndTcpMayNotShareAUnixPath) {
    const auto issues = issues_of("plugins: {dir: plugins}\n"
                                  "services:\n"
                                  "  - {name: t, listen: unix:/tmp/x.sock, handler: upper}\n"
                                  "  - {name: u, listen: unix:/tmp/x.sock, handler: udp_upper, protocol: udp}\n");
    ASSERT_EQ(issues.size(), 1u);
    EXPECT_NE(issues[0].find("listen address unix:/tmp/x.sock is already used by service 't'"), std::string::npos)
        << issues[0];
}

TEST(UdpConfig, UdpAndTcpMayShareAPortNumber) {
    const auto config = load_config_text("plugins: {dir: plugins}\n"
                                         "services:\n"
                                         "  - {name: t, listen: 127.0.0.1:9000, handler: upper}\n"
                                         "  - {name: u, listen: 127.0.0.1:9000, handler: udp_upper, protocol: udp}\n",
                                         "t.yaml");
    EXPECT_EQ(config.services.size(), 2u);
}

} // namespace
