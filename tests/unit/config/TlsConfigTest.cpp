// TlsConfigTest.cpp — a service's `tls:` map: loaded with paths resolved
// against the config file's folder, and refused with line:column where it
// cannot work (UDP, mode process, busy_message, verify_client without ca).
#include "ConfigIssues.h"
#include "config/ConfigLoader.h"

#include <gtest/gtest.h>

using portico::host::ConfigError;
using portico::host::load_config_text;
using portico::host::TlsVerify;

namespace {

std::string service(const std::string &extra) {
    return "plugins: {dir: plugins}\n"
           "services:\n"
           "  - name: up\n"
           "    listen: 127.0.0.1:9443\n"
           "    handler: upper\n" +
           extra;
}

std::vector<std::string> issues_of(const std::string &yaml) {
    return portico::test::config_issues(yaml, "/etc/portico/t.yaml");
}

TEST(TlsConfig, PlainByDefault) {
    EXPECT_FALSE(load_config_text(service(""), "/etc/portico/t.yaml").services.at(0).tls.has_value());
}

TEST(TlsConfig, LoadsEveryKeyWithPathsNextToTheConfig) {
    const auto config = load_config_text(service("    tls:\n"
                                                 "      cert: certs/server.pem\n"
                                                 "      key: /keys/server.key\n"
                                                 "      ca: ca.pem\n"
                                                 "      verify_client: required\n"
                                                 "      min_version: \"1.3\"\n"),
                                         "/etc/portico/t.yaml");
    const auto &tls = config.services.at(0).tls;
    ASSERT_TRUE(tls.has_value());
    EXPECT_EQ(tls->cert, "/etc/portico/certs/server.pem");
    EXPECT_EQ(tls->key, "/keys/server.key");
    EXPECT_EQ(tls->ca, "/etc/portico/ca.pem");
    EXPECT_EQ(tls->verify_client, TlsVerify::required);
    EXPECT_EQ(tls->min_version, "1.3");
    EXPECT_EQ(tls->cert_pos.line, 7);
    EXPECT_EQ(tls->key_pos.line, 8);
}

TEST(TlsConfig, DefaultsAreNoClientCertsAndTls12) {
    const auto config = load_config_text(service("    tls: {cert: a.pem, key: a.key}\n"), "/etc/portico/t.yaml");
    const auto &tls = *config.services.at(0).tls;
    EXPECT_EQ(tls.verify_client, TlsVerify::none);
    EXPECT_EQ(tls.min_version, "1.2");
    EXPECT_TRUE(tls.ca.empty());
}

TEST(TlsConfig, PositionsDoNotMakeAServiceDifferent) {
    const auto a = load_config_text(service("    tls: {cert: a.pem, key: a.key}\n"), "/etc/portico/t.yaml");
    const auto b =
        load_config_text(service("\n    tls:\n      key: a.key\n      cert: a.pem\n"), "/etc/portico/t.yaml");
    EXPECT_TRUE(a.services.at(0).tls == b.services.at(0).tls);
}

TEST(TlsConfig, BadValuesAreReportedWhereTheyAre) {
    EXPECT_EQ(issues_of(service("    tls: {cert: a.pem}\n")),
              std::vector<std::string>{"/etc/portico/t.yaml:6:10: services[0].tls: missing required key 'key' "
                                       "(e.g. key: server.key)"});
    const auto verify = issues_of(service("    tls: {cert: a.pem, key: a.key, verify_client: always}\n"));
    ASSERT_EQ(verify.size(), 1u);
    EXPECT_NE(verify[0].find("t.yaml:6:51: services[0].tls.verify_client: expected"), std::string::npos) << verify[0];
    const auto version = issues_of(service("    tls: {cert: a.pem, key: a.key, min_version: \"1.1\"}\n"));
    ASSERT_EQ(version.size(), 1u);
    EXPECT_NE(version[0].find("services[0].tls.min_version"), std::string::npos) << version[0];
    const auto empty = issues_of(service("    tls: {cert: \"\", key: a.key}\n"));
    ASSERT_EQ(empty.size(), 1u);
    EXPECT_NE(empty[0].find("services[0].tls.cert: expected a file path, got an empty string"), std::string::npos);
}

TEST(TlsConfig, VerifyClientNeedsACa) {
    const auto issues = issues_of(service("    tls: {cert: a.pem, key: a.key, verify_client: optional}\n"));
    ASSERT_EQ(issues.size(), 1u);
    EXPECT_NE(issues[0].find("services[0].tls.verify_client: verify_client needs tls.ca"), std::string::npos)
        << issues[0];
}

TEST(TlsConfig, RefusedWhereItCannotWork) {
    const auto udp = issues_of(service("    protocol: udp\n    tls: {cert: a.pem, key: a.key}\n"));
    ASSERT_EQ(udp.size(), 1u);
    EXPECT_NE(udp[0].find("t.yaml:7:10: services[0].tls: TLS applies to protocol tcp only"), std::string::npos)
        << udp[0];
    const auto busy = issues_of(service("    busy_message: busy\n    tls: {cert: a.pem, key: a.key}\n"));
    ASSERT_EQ(busy.size(), 1u);
    EXPECT_NE(busy[0].find("services[0].busy_message: busy_message would be sent in plain text"), std::string::npos)
        << busy[0];
}

// Workers terminate TLS themselves (either engine): nothing to refuse.
TEST(TlsConfig, AcceptedInModeProcessWithEitherEngine) {
    for (const std::string engine : {"threads", "events"}) {
        const auto config = load_config_text(
            service("    mode: process\n    engine: " + engine + "\n    tls: {cert: a.pem, key: a.key}\n"),
            "/etc/portico/t.yaml");
        ASSERT_TRUE(config.services.at(0).tls.has_value()) << engine;
        EXPECT_EQ(config.services.at(0).tls->cert, "/etc/portico/a.pem") << engine;
    }
}

} // namespace
