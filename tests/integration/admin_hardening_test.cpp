// admin_hardening_test.cpp — the admin server against hostile or careless
// clients (issues #14 and #15): slow and idle connections must not starve
// probes, foreign Host and Origin headers are refused, error answers carry
// the right reason phrase and never echo raw bytes, and the admin port is
// exclusive to one host.
#include "harness/AdminHost.h"
#include "harness/Json.h"
#include "harness/Paths.h"
#include "harness/PluginDir.h"
#include "harness/PorticoCommand.h"
#include "harness/Sockets.h"
#include "harness/TcpClient.h"

#include <gtest/gtest.h>

#include <algorithm>
#include <cstdlib>
#include <regex>
#include <vector>

namespace portico::test {
namespace {

AdminHostSpec upper_spec(const TempDir &dir) {
    AdminHostSpec spec;
    spec.plugin_dir = make_plugin_dir(dir, {shipped_plugin("upper")});
    spec.services = {{"upper", "upper.upper", ""}};
    return spec;
}

// The raw answer to `request` on a fresh connection, up to the server's close.
std::string raw_exchange(std::uint16_t port, const std::string &request) {
    TcpClient client(port);
    client.send(request);
    return client.read_until_eof(10s);
}

std::string status_line(const std::string &raw) {
    return raw.substr(0, raw.find("\r\n"));
}

HttpResponse request_with(std::uint16_t port, const std::string &method, const std::string &target,
                          std::vector<std::pair<std::string, std::string>> headers) {
    HttpRequest request;
    request.method = method;
    request.target = target;
    request.headers = std::move(headers);
    return http_request(port, request, 10s);
}

double reloads_total(const AdminHost &host, const std::string &token = {}) {
    return Json::parse(host.get("/status", token).body)["reloads"]["total"].number();
}

TEST(AdminHardening, ProbesAnswerWhileHundredsOfSlowAndIdleClientsAreConnected) {
    raise_fd_limit(4096);
    TempDir dir;
    AdminHostSpec spec = upper_spec(dir);
    spec.token = "s3cret";
    AdminHost host(dir, spec);
    const std::uint16_t port = host.admin_port();

    // Half-sent heads from one source and from several, and idle connections that send nothing.
    const std::string half = "GET /status HTTP/1.1\r\nHost: 127.0.0.1\r\nX-Slow: ";
    std::vector<TcpClient> held;
    for (int i = 0; i < 150; ++i) {
        held.emplace_back(port);
        held.back().send(half);
    }
    for (int i = 0; i < 100; ++i) {
        held.push_back(connect_from("127.0.0." + std::to_string(2 + i % 8), port));
        held.back().send(half);
    }
    for (int i = 0; i < 100; ++i)
        held.emplace_back(port);

    // A correctness deadline (the old server never answered while they were held), not a speed bound.
    const auto probe = [&](const std::string &method, const std::string &target, const std::string &token) {
        HttpRequest request;
        request.method = method;
        request.target = target;
        if (!token.empty()) request.headers.emplace_back("Authorization", "Bearer " + token);
        return http_request(port, request, 5s);
    };
    EXPECT_EQ(probe("GET", "/health", "").status, 200);
    EXPECT_EQ(probe("GET", "/ready", "").status, 200);
    EXPECT_EQ(probe("GET", "/status", "s3cret").status, 200);
    EXPECT_EQ(probe("POST", "/reload?scope=plugins", "s3cret").status, 200);
    EXPECT_EQ(probe("GET", "/metrics", "s3cret").status, 200);

    // The host closes what never completes its request (the head deadline).
    std::size_t closed = 0;
    for (TcpClient &client : held)
        if (client.read_until_closed(20s)) ++closed;
    EXPECT_EQ(closed, held.size()) << "the host kept slow or idle admin connections open past its head deadline";
    EXPECT_EQ(probe("GET", "/health", "").status, 200);
}

TEST(AdminHardening, AForeignHostHeaderIsRefusedWith421) {
    TempDir dir;
    AdminHostSpec spec = upper_spec(dir);
    spec.admin_extra = "  hosts: [portico.test]\n";
    AdminHost host(dir, spec);
    const std::uint16_t port = host.admin_port();
    const std::string p = ":" + std::to_string(port);

    const auto rebound = request_with(port, "GET", "/status", {{"Host", "attacker.example" + p}});
    EXPECT_EQ(rebound.status, 421) << rebound.body;
    EXPECT_NE(rebound.body.find("admin.hosts"), std::string::npos) << rebound.body;
    EXPECT_EQ(request_with(port, "POST", "/reload", {{"Host", "attacker.example" + p}}).status, 421);
    EXPECT_EQ(request_with(port, "POST", "/upgrade", {{"Host", "attacker.example" + p}}).status, 421);
    EXPECT_EQ(reloads_total(host), 0) << "a request with a foreign Host reloaded the host";

    for (const std::string &ok :
         {"127.0.0.1" + p, "localhost" + p, "portico.test" + p, std::string("PORTICO.test"), "[::1]" + p})
        EXPECT_EQ(request_with(port, "GET", "/status", {{"Host", ok}}).status, 200) << "Host: " << ok;
    // HTTP/1.1 without Host at all is malformed.
    EXPECT_EQ(status_line(raw_exchange(port, "GET /health HTTP/1.1\r\n\r\n")), "HTTP/1.1 400 Bad Request");
}

TEST(AdminHardening, ACrossOriginReloadIsRefusedAndASameOriginOneRuns) {
    TempDir dir;
    AdminHost host(dir, upper_spec(dir));
    const std::uint16_t port = host.admin_port();
    const std::string self = "http://127.0.0.1:" + std::to_string(port);

    for (const std::string origin : {"http://attacker.example", "null", "http://127.0.0.1:1"}) {
        const auto refused = request_with(port, "POST", "/reload?scope=plugins", {{"Origin", origin}});
        EXPECT_EQ(refused.status, 403) << "Origin: " << origin << ": " << refused.body;
    }
    // An upgrade changes state as much: refused before it starts anything.
    const auto upgrade = request_with(port, "POST", "/upgrade", {{"Origin", "http://attacker.example"}});
    EXPECT_EQ(upgrade.status, 403) << upgrade.body;
    EXPECT_EQ(reloads_total(host), 0) << "a cross-origin POST reloaded the host";
    EXPECT_EQ(host.process().log_text().find("upgrade: starting"), std::string::npos) << "a cross-origin POST upgraded";

    // What the status page's own buttons send, and what curl sends (no Origin).
    EXPECT_EQ(request_with(port, "POST", "/reload?scope=plugins", {{"Origin", self}}).status, 200);
    EXPECT_EQ(host.post("/reload?scope=plugins").status, 200);
    EXPECT_EQ(reloads_total(host), 2);
    // Reading is not state-changing: a GET with a foreign Origin is answered (the browser withholds it).
    EXPECT_EQ(request_with(port, "GET", "/health", {{"Origin", "http://attacker.example"}}).status, 200);
}

TEST(AdminHardening, ErrorAnswersHaveTheirReasonPhraseAndNeverEchoRawBytes) {
    TempDir dir;
    AdminHost host(dir, upper_spec(dir));
    const std::uint16_t port = host.admin_port();
    const std::string host_header = "Host: 127.0.0.1:" + std::to_string(port) + "\r\n";

    const std::string not_found =
        raw_exchange(port, "GET /no%00such%0d%0aX-Injected:%201 HTTP/1.1\r\n" + host_header + "\r\n");
    EXPECT_EQ(status_line(not_found), "HTTP/1.1 404 Not Found");
    const std::string body = not_found.substr(not_found.find("\r\n\r\n") + 4);
    EXPECT_EQ(body.find('\0'), std::string::npos) << "the NUL of the path was echoed";
    EXPECT_EQ(not_found.find("\r\nX-Injected"), std::string::npos) << "the decoded CRLF was echoed";
    EXPECT_NE(body.find("/no%00such%0D%0AX-Injected: 1"), std::string::npos) << body;

    EXPECT_EQ(status_line(raw_exchange(port, "GET /reload HTTP/1.1\r\n" + host_header + "\r\n")),
              "HTTP/1.1 405 Method Not Allowed");
    EXPECT_EQ(status_line(raw_exchange(port, "POST /reload?scope=nope%00 HTTP/1.1\r\n" + host_header +
                                                 "Content-Length: 0\r\n\r\n")),
              "HTTP/1.1 400 Bad Request");
    EXPECT_EQ(status_line(raw_exchange(port, "GET /health HTTP/1.1\r\n" + host_header + "\r\n")), "HTTP/1.1 200 OK");
    EXPECT_EQ(status_line(raw_exchange(port, "BREW /health HTTP/3.0\r\n" + host_header + "\r\n")),
              "HTTP/1.1 505 HTTP Version Not Supported");
}

TEST(AdminHardening, ASecondHostOnTheSameAdminPortFailsToStart) {
    TempDir first_dir;
    TempDir second_dir;
    AdminHostSpec spec = upper_spec(first_dir);
    spec.admin_listen = "127.0.0.1:" + std::to_string(free_tcp_port());
    AdminHost first(first_dir, spec);

    AdminHostSpec second_spec = upper_spec(second_dir);
    second_spec.admin_listen = spec.admin_listen;
    PorticoProcess second(second_dir, second_spec.yaml());
    EXPECT_EQ(second.wait_exit(10s), ExitStatus::exited(2)) << second.log_text();
    const std::string log = second.log_text();
    EXPECT_NE(log.find("already in use"), std::string::npos) << log;
    // The admin block is the last-but-two block of AdminHostSpec::yaml(): find its listen line.
    const std::string yaml = second_spec.yaml();
    const auto line = std::count(yaml.begin(), yaml.begin() + static_cast<long>(yaml.find("admin:\n")), '\n') + 2;
    EXPECT_TRUE(std::regex_search(log, std::regex("portico\\.yaml:" + std::to_string(line) + ":[0-9]+")))
        << "expected the admin.listen line " << line << " in: " << log;
    EXPECT_EQ(first.get("/health").status, 200);
}

TEST(AdminHardening, AnAdminPortBeyondLoopbackWithoutATokenIsAConfigError) {
    if (std::getenv("PORTICO_ADMIN_TOKEN")) GTEST_SKIP() << "PORTICO_ADMIN_TOKEN is set in this environment";
    TempDir dir;
    AdminHostSpec spec = upper_spec(dir);
    spec.admin_listen = "0.0.0.0:0";
    PorticoProcess host(dir, spec.yaml());
    EXPECT_EQ(host.wait_exit(10s), ExitStatus::exited(2));
    const std::string log = host.log_text();
    EXPECT_TRUE(std::regex_search(log, std::regex(R"(portico\.yaml:[0-9]+:[0-9]+: admin\.listen: .*no token)"))) << log;
    EXPECT_EQ(log.find("portico ready"), std::string::npos);

    // With a token the same address is accepted: checked with --check, which
    // binds nothing (the tests never listen beyond loopback).
    const auto check = run_portico({"--config", host.config_path().string(), "--check"});
    EXPECT_EQ(check.status, ExitStatus::exited(2)) << check.output;
    spec.token = "s3cret";
    const auto with_token = dir.write_file("with-token.yaml", spec.yaml());
    const auto accepted = run_portico({"--config", with_token.string(), "--check"});
    EXPECT_EQ(accepted.status, ExitStatus::exited(0)) << accepted.output;
}

} // namespace
} // namespace portico::test
