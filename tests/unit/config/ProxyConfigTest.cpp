// ProxyConfigTest.cpp — proxy_protocol, proxy_from and proxy_timeout: loaded
// when right; on a UDP service, without proxy_protocol or with a bad value,
// reported at the key's line:column.
#include "config/ConfigLoader.h"

#include <gtest/gtest.h>

using portico::host::ConfigError;
using portico::host::load_config_text;
using portico::host::ProxyProtocol;

namespace {

std::string service(const std::string &extra, const std::string &protocol = "tcp") {
    return "plugins: {dir: plugins}\n"
           "services:\n"
           "  - name: up\n"
           "    listen: 127.0.0.1:9996\n"
           "    protocol: " +
           protocol +
           "\n"
           "    handler: upper\n" +
           extra;
}

std::string issues_of(const std::string &yaml) {
    try {
        load_config_text(yaml, "t.yaml");
    } catch (const ConfigError &e) {
        std::string lines;
        for (const auto &issue : e.issues())
            lines += issue.to_string() + "\n";
        return lines;
    }
    ADD_FAILURE() << "config loaded without error:\n" << yaml;
    return {};
}

TEST(ProxyConfig, OffByDefault) {
    const auto config = load_config_text(service(""), "t.yaml");
    EXPECT_EQ(config.services.at(0).proxy_protocol, ProxyProtocol::off);
    EXPECT_TRUE(config.services.at(0).proxy_from.empty());
    EXPECT_EQ(config.services.at(0).proxy_timeout, std::chrono::seconds(3));
}

TEST(ProxyConfig, LoadsEveryKey) {
    for (const auto &[text, value] : {std::pair{"v1", ProxyProtocol::v1}, std::pair{"v2", ProxyProtocol::v2},
                                      std::pair{"any", ProxyProtocol::any}}) {
        const auto config = load_config_text(service(std::string("    proxy_protocol: ") + text +
                                                     "\n    proxy_from: [10.0.0.0/8, \"::1\"]\n"
                                                     "    proxy_timeout: 500ms\n"),
                                             "t.yaml");
        const auto &svc = config.services.at(0);
        EXPECT_EQ(svc.proxy_protocol, value) << text;
        ASSERT_EQ(svc.proxy_from.size(), 2u);
        EXPECT_EQ(svc.proxy_from[0].to_string(), "10.0.0.0/8");
        EXPECT_EQ(svc.proxy_timeout, std::chrono::milliseconds(500));
    }
}

TEST(ProxyConfig, UdpIsRefusedAtTheKey) {
    const std::string issues = issues_of(service("    proxy_protocol: v2\n", "udp"));
    EXPECT_NE(issues.find("t.yaml:7:"), std::string::npos) << issues;
    EXPECT_NE(issues.find("PROXY protocol applies to protocol tcp only"), std::string::npos) << issues;
}

TEST(ProxyConfig, ProxyFromWithoutProxyProtocolIsReported) {
    const std::string issues = issues_of(service("    proxy_from: [10.0.0.1]\n"));
    EXPECT_NE(issues.find("t.yaml:7:"), std::string::npos) << issues;
    EXPECT_NE(issues.find("applies only with proxy_protocol"), std::string::npos) << issues;
}

TEST(ProxyConfig, BadValuesNameTheChoicesAndTheEntry) {
    const std::string issues = issues_of(service("    proxy_protocol: v3\n    proxy_from: [10.0.0.300]\n"));
    EXPECT_NE(issues.find("t.yaml:7:"), std::string::npos) << issues;
    EXPECT_NE(issues.find("any"), std::string::npos) << issues;
    EXPECT_NE(issues.find("t.yaml:8:"), std::string::npos) << issues;
}

} // namespace
