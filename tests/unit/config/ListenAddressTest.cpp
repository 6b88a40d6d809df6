// ListenAddressTest.cpp — `listen:` values: every accepted form round-trips,
// every refusal says what a valid address looks like.
#include "config/ListenAddress.h"

#include <gtest/gtest.h>

#include <utility>
#include <vector>

using portico::host::ListenAddress;

namespace {

ListenAddress parse_ok(const std::string &text) {
    std::string error;
    const auto address = ListenAddress::parse(text, &error);
    EXPECT_TRUE(address) << text << ": " << error;
    return address.value_or(ListenAddress{});
}

} // namespace

TEST(ListenAddress, ParsesIPv4) {
    const ListenAddress a = parse_ok("127.0.0.1:9999");
    EXPECT_EQ(a.kind, ListenAddress::Kind::inet);
    EXPECT_EQ(a.host, "127.0.0.1");
    EXPECT_EQ(a.port, 9999);
    EXPECT_FALSE(a.is_v6());
}

TEST(ListenAddress, ParsesIPv6InBrackets) {
    const ListenAddress a = parse_ok("[::1]:9000");
    EXPECT_EQ(a.host, "::1");
    EXPECT_EQ(a.port, 9000);
    EXPECT_TRUE(a.is_v6());
    EXPECT_EQ(parse_ok("[::]:80").host, "::");
    EXPECT_EQ(parse_ok("[fe80::1:2]:65535").port, 65535);
}

TEST(ListenAddress, WildcardsMeanAllInterfaces) {
    EXPECT_EQ(parse_ok("*:80").host, "0.0.0.0");
    EXPECT_EQ(parse_ok(":80").host, "0.0.0.0");
    EXPECT_EQ(parse_ok(":80").to_string(), "0.0.0.0:80");
}

TEST(ListenAddress, KeepsHostNamesAsText) {
    const ListenAddress a = parse_ok("localhost:80");
    EXPECT_EQ(a.host, "localhost");
    EXPECT_EQ(parse_ok("my-host.example.com:0").host, "my-host.example.com");
}

TEST(ListenAddress, PortZeroMeansAnyFreePort) { EXPECT_EQ(parse_ok("127.0.0.1:0").port, 0); }

TEST(ListenAddress, ParsesUnixPaths) {
    const ListenAddress a = parse_ok("unix:/run/portico/x.sock");
    EXPECT_EQ(a.kind, ListenAddress::Kind::unix_path);
    EXPECT_EQ(a.path, "/run/portico/x.sock");
    EXPECT_FALSE(a.is_v6());
    // Relative paths are kept; the loader resolves them against the config's folder.
    EXPECT_EQ(parse_ok("unix:run/x.sock").path, "run/x.sock");
}

TEST(ListenAddress, ToStringRoundTrips) {
    for (const std::string text : {"127.0.0.1:9999", "[::1]:9000", "[::]:0", "0.0.0.0:80", "localhost:80",
                                   "unix:/tmp/a.sock", "[2001:db8::5]:443"}) {
        const ListenAddress a = parse_ok(text);
        EXPECT_EQ(a.to_string(), text);
        EXPECT_EQ(parse_ok(a.to_string()), a);
    }
}

TEST(ListenAddress, RefusesBadAddressesWithAFix) {
    const std::vector<std::pair<std::string, std::string>> cases{
        {"127.0.0.1", "bad address '127.0.0.1': expected host:port, [v6]:port or unix:/path"},
        {"localhost", "bad address 'localhost': expected host:port, [v6]:port or unix:/path"},
        {"", "empty address: expected host:port, [v6]:port or unix:/path"},
        {"127.0.0.1:70000", "port 70000 is out of range 0-65535"},
        {"127.0.0.1:99999999999999999999", "port 99999999999999999999 is out of range 0-65535"},
        {"127.0.0.1:http", "bad port 'http' in '127.0.0.1:http': expected a number 0-65535"},
        {"127.0.0.1:-1", "bad port '-1' in '127.0.0.1:-1': expected a number 0-65535"},
        {"127.0.0.1:80x", "bad port '80x' in '127.0.0.1:80x': expected a number 0-65535"},
        {"127.0.0.1:", "missing port in '127.0.0.1:': write e.g. 127.0.0.1:9000 (0 picks a free port)"},
        {"999.1.1.1:80", "bad host '999.1.1.1' in '999.1.1.1:80': expected an IPv4 address, a host name, * or [v6]"},
        {"bad_host:80", "bad host 'bad_host' in 'bad_host:80': expected an IPv4 address, a host name, * or [v6]"},
        {"::1:9000", "IPv6 address in '::1:9000' needs brackets: write [::1]:9000"},
        {"::1", "IPv6 address '::1' needs brackets and a port: write [::1]:9000"},
        {"[::1]", "bad address '[::1]': expected host:port, [v6]:port or unix:/path"},
        {"[::1]9000", "bad address '[::1]9000': expected host:port, [v6]:port or unix:/path"},
        {"[nope]:80", "bad IPv6 address 'nope' in '[nope]:80': write e.g. [::1]:9000 or [::]:9000"},
        {"[127.0.0.1]:80", "bad IPv6 address '127.0.0.1' in '[127.0.0.1]:80': write e.g. [::1]:9000 or [::]:9000"},
        {"unix:", "empty unix socket path in 'unix:': write e.g. unix:/run/portico/echo.sock"},
    };
    for (const auto &[text, message] : cases) {
        std::string error;
        EXPECT_FALSE(ListenAddress::parse(text, &error)) << text;
        EXPECT_EQ(error, message) << text;
    }
}
