// SocketOptionsConfigTest.cpp — `socket_options:` of a service: the names
// resolved to their numbers, `on` defaulting to accepted, and each mistake
// reported at its line and column with a suggestion.
#include "ConfigIssues.h"
#include "config/ConfigLoader.h"

#include <gtest/gtest.h>

#include <netinet/in.h>
#include <netinet/tcp.h>
#include <sys/socket.h>

using portico::host::ConfigError;
using portico::host::load_config_text;
using portico::host::SocketOptionTarget;

namespace {

std::string service_with(const std::string &options, const std::string &protocol = "tcp") {
    return "plugins: {dir: plugins}\n"
           "services:\n"
           "  - name: svc\n"
           "    listen: 127.0.0.1:9996\n"
           "    protocol: " +
           protocol +
           "\n"
           "    handler: p.h\n"
           "    socket_options:\n" +
           options;
}

std::vector<std::string> issues_of(const std::string &yaml) {
    return portico::test::config_issues(yaml);
}

TEST(SocketOptionsConfig, NamesBecomeTheirNumbersInOrder) {
    const auto config = load_config_text(service_with("      - {level: SOL_SOCKET, name: SO_KEEPALIVE, value: 1}\n"
                                                      "      - level: IPPROTO_TCP\n"
                                                      "        name: TCP_KEEPIDLE\n"
                                                      "        value: 30\n"
                                                      "      - {level: SOL_SOCKET, name: SO_RCVBUF, value: 65536, "
                                                      "on: listener}\n"),
                                         "t.yaml");
    const auto &options = config.services.at(0).socket_options;
    ASSERT_EQ(options.size(), 3u);
    EXPECT_EQ(options[0].level_value, SOL_SOCKET);
    EXPECT_EQ(options[0].name_value, SO_KEEPALIVE);
    EXPECT_EQ(options[0].value, 1);
    EXPECT_EQ(options[0].on, SocketOptionTarget::accepted);
    EXPECT_EQ(options[1].level_value, IPPROTO_TCP);
    EXPECT_EQ(options[1].name_value, TCP_KEEPIDLE);
    EXPECT_EQ(options[1].value, 30);
    EXPECT_EQ(options[2].name_value, SO_RCVBUF);
    EXPECT_EQ(options[2].on, SocketOptionTarget::listener);
    EXPECT_EQ(options[1].pos.line, 9);
}

TEST(SocketOptionsConfig, AnUnknownNameIsReportedAtItsLineWithASuggestion) {
    const auto issues = issues_of(service_with("      - {level: SOL_SOCKET, name: SO_KEEPALIV, value: 1}\n"));
    ASSERT_EQ(issues.size(), 1u);
    EXPECT_NE(issues[0].find("t.yaml:8:35:"), std::string::npos) << issues[0];
    EXPECT_NE(issues[0].find("unknown socket option 'SO_KEEPALIV' at level SOL_SOCKET (did you mean 'SO_KEEPALIVE'?)"),
              std::string::npos)
        << issues[0];
}

TEST(SocketOptionsConfig, AnOptionOfAnotherLevelIsUnknownAtThisOne) {
    const auto issues = issues_of(service_with("      - {level: SOL_SOCKET, name: TCP_NODELAY, value: 1}\n"));
    ASSERT_EQ(issues.size(), 1u);
    EXPECT_NE(issues[0].find("unknown socket option 'TCP_NODELAY' at level SOL_SOCKET"), std::string::npos)
        << issues[0];
}

TEST(SocketOptionsConfig, MissingKeysAndBadValuesAreReported) {
    EXPECT_EQ(issues_of(service_with("      - {level: SOL_SOCKET, name: SO_KEEPALIVE}\n")).size(), 1u);
    EXPECT_EQ(issues_of(service_with("      - {level: SOL_SOCKET, name: SO_KEEPALIVE, value: lots}\n")).size(), 1u);
    EXPECT_EQ(
        issues_of(service_with("      - {level: SOL_SOCKET, name: SO_KEEPALIVE, value: 1, colour: red}\n")).size(), 1u);
    const auto issues = issues_of(service_with("      - {level: SOL_SOCKT, name: SO_KEEPALIVE, value: 1}\n"));
    ASSERT_EQ(issues.size(), 1u);
    EXPECT_NE(issues[0].find("did you mean 'SOL_SOCKET'"), std::string::npos) << issues[0];
}

TEST(SocketOptionsConfig, OptionsThatCannotApplyToTheServiceAreRefused) {
    const auto tcp_on_udp =
        issues_of(service_with("      - {level: IPPROTO_TCP, name: TCP_NODELAY, value: 1, on: listener}\n", "udp"));
    ASSERT_EQ(tcp_on_udp.size(), 1u);
    EXPECT_NE(tcp_on_udp[0].find("t.yaml:8:9:"), std::string::npos) << tcp_on_udp[0];
    EXPECT_NE(tcp_on_udp[0].find("is a TCP option and this service is protocol udp"), std::string::npos)
        << tcp_on_udp[0];
    const auto accepted_on_udp =
        issues_of(service_with("      - {level: SOL_SOCKET, name: SO_RCVBUF, value: 65536}\n", "udp"));
    ASSERT_EQ(accepted_on_udp.size(), 1u);
    EXPECT_NE(accepted_on_udp[0].find("write on: listener"), std::string::npos) << accepted_on_udp[0];
}

} // namespace
