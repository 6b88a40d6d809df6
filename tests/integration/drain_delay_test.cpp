// Readiness for a balancer (issue 18.2): /ready answers 503 with its reason
// while the host starts, while a reload rebuilds services, and first thing at
// SIGTERM or when a reload removes a service; the host keeps accepting for
// drain_delay after that, then refuses.
#include "harness/ConfigBuilder.h"
#include "harness/Deadline.h"
#include "harness/HarnessError.h"
#include "harness/HttpClient.h"
#include "harness/Paths.h"
#include "harness/PluginDir.h"
#include "harness/PorticoProcess.h"
#include "harness/TcpClient.h"
#include "harness/TempDir.h"

#include <gtest/gtest.h>

#include <cerrno>
#include <csignal>
#include <cstdint>
#include <regex>
#include <string>

namespace portico::test {
namespace {

// The admin port from the host's "admin listening on" line (it is logged
// before the plugins load, so a starting host has one).
std::uint16_t admin_port(PorticoProcess &host) {
    const auto match = host.wait_for_log(std::regex(R"(admin listening on [0-9.]+:(\d+))"), 10s);
    if (!match) throw HarnessError("no 'admin listening on' line; the log:\n" + host.log_text());
    return static_cast<std::uint16_t>(std::stoi((*match)[1]));
}

// GET /ready; status 0 when the admin server does not answer.
HttpResponse ready(std::uint16_t port) {
    try {
        return http_get(port, "/ready");
    } catch (const HarnessError &e) {
        HttpResponse none;
        none.body = e.what();
        return none;
    }
}

// Waits until /ready answers `status` with a body containing `part`; the
// last answer, for the failure message.
std::pair<bool, HttpResponse> wait_ready_answer(std::uint16_t port, int status, const std::string &part,
                                                Millis timeout) {
    HttpResponse last;
    const bool seen = wait_until(
        [&] {
            last = ready(port);
            return last.status == status && last.body.find(part) != std::string::npos;
        },
        timeout, 10ms);
    return {seen, last};
}

std::string upper_round_trip(std::uint16_t port) {
    TcpClient client(port);
    client.send("drain me\n");
    return client.read_line().value_or("<eof>");
}

ConfigBuilder upper_config(const TempDir &dir, const std::string &drain_delay) {
    ConfigBuilder config;
    config.plugin_dir(make_plugin_dir(dir, {shipped_plugin("upper"), shipped_plugin("echo")}))
        .plugins_option("watch", "false")
        .shutdown_timeout("3s")
        .raw("admin:\n  listen: 127.0.0.1:0\n")
        .raw("drain_delay: " + drain_delay + "\n");
    return config;
}

TEST(DrainDelay, SigtermSays503FirstKeepsServingForTheDelayThenRefuses) {
    TempDir dir;
    ConfigBuilder config = upper_config(dir, "4s");
    config.service("upper", "upper.upper");
    PorticoProcess host(dir, config.yaml());
    ASSERT_TRUE(host.wait_ready()) << host.log_text();
    const std::uint16_t admin = admin_port(host);
    const std::uint16_t port = host.port("upper");
    ASSERT_EQ(ready(admin).status, 200) << ready(admin).body;

    host.send_signal(SIGTERM);
    const auto [not_ready, answer] = wait_ready_answer(admin, 503, "drain_delay", 5s);
    ASSERT_TRUE(not_ready) << "last /ready: " << answer.status << " " << answer.body << host.log_text();
    EXPECT_NE(answer.body.find("stopping"), std::string::npos) << answer.body;

    // A balancer that has not noticed yet still gets served: a new connection.
    EXPECT_EQ(upper_round_trip(port), "DRAIN ME\n") << host.log_text();
    EXPECT_EQ(host.count_log_lines({"stopping: no new connections"}), 0u)
        << "the reply above came after the delay had ended; the log:\n"
        << host.log_text();

    // Then the listener goes: refused, and the host exits normally.
    EXPECT_TRUE(wait_until([&] { return TcpClient::probe_connect(port) == ECONNREFUSED; }, 15s, 20ms))
        << host.log_text();
    EXPECT_EQ(host.wait_exit(15s), ExitStatus::exited(0)) << host.log_text();
}

TEST(DrainDelay, AReloadThatRemovesAServiceKeepsItAcceptingForTheDelay) {
    TempDir dir;
    // Fixed ports, so the reload sees the same upper service.
    const std::string upper_listen = "127.0.0.1:" + std::to_string(free_tcp_port());
    ConfigBuilder before = upper_config(dir, "3s");
    before.service("upper", "upper.upper").listen(upper_listen);
    before.service("echo", "echo.echo");
    PorticoProcess host(dir, before.yaml());
    ASSERT_TRUE(host.wait_ready()) << host.log_text();
    const std::uint16_t admin = admin_port(host);
    const std::uint16_t upper = host.port("upper");
    const std::uint16_t echo = host.port("echo");

    ConfigBuilder after = upper_config(dir, "3s");
    after.service("upper", "upper.upper").listen(upper_listen);
    host.rewrite_config(after.yaml());
    host.send_signal(SIGHUP);

    const auto [not_ready, answer] = wait_ready_answer(admin, 503, "removed service 'echo'", 5s);
    ASSERT_TRUE(not_ready) << "last /ready: " << answer.status << " " << answer.body << host.log_text();
    {
        TcpClient client(echo);
        EXPECT_EQ(client.round_trip("still here"), "still here") << host.log_text();
    }
    EXPECT_EQ(host.count_log_lines({"service 'echo' (removed): drain_delay over"}), 0u)
        << "the echo above came after the delay had ended; the log:\n"
        << host.log_text();

    EXPECT_TRUE(wait_until([&] { return TcpClient::probe_connect(echo) == ECONNREFUSED; }, 15s, 20ms))
        << host.log_text();
    const auto [ready_again, last] = wait_ready_answer(admin, 200, "ready", 10s);
    EXPECT_TRUE(ready_again) << "last /ready: " << last.status << " " << last.body << host.log_text();
    EXPECT_EQ(upper_round_trip(upper), "DRAIN ME\n");
}

TEST(Readiness, NotReadyWhileAPluginInitRunsAtStart) {
    TempDir dir;
    ConfigBuilder config;
    config.plugin_dir(make_plugin_dir(dir, {test_plugin("slow_init")}))
        .plugins_option("call_timeout", "30s")
        .plugins_option("watch", "false")
        .raw("admin:\n  listen: 127.0.0.1:0\n");
    config.service("echo", "slow_init.echo");
    PorticoProcess host(dir, config.yaml());
    const std::uint16_t admin = admin_port(host);
    // slow_init's init sleeps 2 s (once in the check process, once for real).
    const auto [starting, answer] = wait_ready_answer(admin, 503, "starting", 5s);
    ASSERT_TRUE(starting) << "last /ready: " << answer.status << " " << answer.body << host.log_text();

    const auto [serving, last] = wait_ready_answer(admin, 200, "ready", 20s);
    ASSERT_TRUE(serving) << "last /ready: " << last.status << " " << last.body << host.log_text();
    TcpClient client(host.port("echo"));
    EXPECT_EQ(client.round_trip("hi\n"), "hi\n");
}

TEST(Readiness, NotReadyWhileAReloadRebuildsServices) {
    TempDir dir;
    ConfigBuilder before;
    before.plugin_dir(make_plugin_dir(dir, {shipped_plugin("upper")}))
        .plugins_option("call_timeout", "30s")
        .plugins_option("watch", "false")
        .raw("admin:\n  listen: 127.0.0.1:0\n");
    const std::string upper_listen = "127.0.0.1:" + std::to_string(free_tcp_port());
    before.service("upper", "upper.upper").listen(upper_listen);
    PorticoProcess host(dir, before.yaml());
    ASSERT_TRUE(host.wait_ready()) << host.log_text();
    const std::uint16_t admin = admin_port(host);
    const std::uint16_t upper = host.port("upper");
    ASSERT_EQ(ready(admin).status, 200);

    // A new plugin folder with a plugin whose init takes 2 s, and a service on it.
    TempDir other;
    ConfigBuilder after;
    after.plugin_dir(make_plugin_dir(other, {shipped_plugin("upper"), test_plugin("slow_init")}))
        .plugins_option("call_timeout", "30s")
        .plugins_option("watch", "false")
        .raw("admin:\n  listen: 127.0.0.1:0\n");
    after.service("upper", "upper.upper").listen(upper_listen);
    after.service("slow", "slow_init.echo");
    host.rewrite_config(after.yaml());
    host.send_signal(SIGHUP);

    const auto [rebuilding, answer] = wait_ready_answer(admin, 503, "rebuilding services", 5s);
    ASSERT_TRUE(rebuilding) << "last /ready: " << answer.status << " " << answer.body << host.log_text();
    EXPECT_EQ(upper_round_trip(upper), "DRAIN ME\n") << "the running service serves on during the rebuild";

    const auto [ready_again, last] = wait_ready_answer(admin, 200, "ready", 20s);
    ASSERT_TRUE(ready_again) << "last /ready: " << last.status << " " << last.body << host.log_text();
    ASSERT_TRUE(host.wait_for_log("service 'slow' added", 5s)) << host.log_text();
    TcpClient client(host.port("slow"));
    EXPECT_EQ(client.round_trip("hi\n"), "hi\n");
}

} // namespace
} // namespace portico::test
