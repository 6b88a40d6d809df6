// hooks_test.cpp — SDK minor 2 as a plugin sees it, in mode threads and mode
// events: verify_request refusing by a rule on the peer (its message sent,
// the refusal logged and counted in /metrics), handle_error with the
// exception's demangled type and text, handle_timeout on a read timeout, the
// default error log naming the type; a handler that declares it may block
// refused in mode events by --check and at start; a plugin built against the
// frozen minor 1 headers loading and serving.
#include "harness/AdminHost.h"
#include "harness/ConfigBuilder.h"
#include "harness/Deadline.h"
#include "harness/Modes.h"
#include "harness/Paths.h"
#include "harness/PluginDir.h"
#include "harness/PorticoCommand.h"
#include "harness/PorticoProcess.h"
#include "harness/Sockets.h"
#include "harness/TcpClient.h"
#include "harness/TempDir.h"

#include <gtest/gtest.h>

#include <regex>
#include <string>
#include <vector>

namespace portico::test {
namespace {

class Hooks : public ::testing::TestWithParam<std::string> {};

// The count /metrics gives for refusals of `service` by verify_request, or -1.
long verify_refusals(const AdminHost &host, const std::string &service) {
    const std::string body = host.get("/metrics").body;
    std::smatch match;
    const std::regex series("portico_service_connections_refused_total\\{service=\"" + service +
                            "\",reason=\"verify_request\"\\} ([0-9]+)");
    if (!std::regex_search(body, match, series)) return -1;
    return std::stol(match[1]);
}

TEST_P(Hooks, VerifyRequestRefusesByItsRuleSendsItsMessageAndIsCounted) {
    TempDir dir;
    AdminHostSpec spec;
    spec.plugin_dir = make_plugin_dir(dir, {test_plugin("hooks")});
    spec.services = {{"guarded", "hooks.guarded", mode_keys(GetParam())}};
    AdminHost host(dir, spec);

    // The rule: only 127.0.0.1 is served; 127.0.0.2 is refused.
    std::vector<TcpClient> kept;
    constexpr int refused = 3;
    for (int i = 0; i < refused; ++i) {
        TcpClient stranger = connect_from("127.0.0.2", host.port("guarded"));
        const auto said = stranger.read_until_closed(5s);
        ASSERT_TRUE(said.has_value()) << "a refused connection was not closed";
        EXPECT_EQ(*said, "refused: 127.0.0.2:" + std::to_string(stranger.local_port()) + "\n");
        TcpClient friendly(host.port("guarded"));
        friendly.send("hello " + std::to_string(i) + "\n");
        EXPECT_EQ(friendly.read_line(), "hello " + std::to_string(i) + "\n") << "an accepted connection is not served";
        kept.push_back(std::move(friendly));
    }

    const auto line =
        host.process().wait_for_log_line({"guarded", "verify_request refused it", "refused: 127.0.0.2:"}, 5s);
    ASSERT_TRUE(line) << "the refusal is not logged:\n" << host.process().log_text();
    EXPECT_NE(line->find("refused 127.0.0.2:"), std::string::npos) << "the peer is missing: " << *line;
    EXPECT_TRUE(host.process().wait_for_log_line({"verify_request accepted 127.0.0.1:", " on 127.0.0.1:"}, 5s))
        << "verify_request was not given the peer and local addresses";
    EXPECT_TRUE(wait_until([&] { return verify_refusals(host, "guarded") == refused; }, 5s))
        << "/metrics counts " << verify_refusals(host, "guarded") << " refusals by verify_request, not " << refused;
    for (auto &client : kept) {
        client.send("still\n");
        EXPECT_EQ(client.read_line(), "still\n");
    }
}

TEST_P(Hooks, HandleErrorGetsTheExceptionsTypeAndTextAndMayAnswer) {
    TempDir dir;
    ConfigBuilder config;
    config.plugin_dir(make_plugin_dir(dir, {test_plugin("hooks")}));
    in_mode(config.service("hooked", "hooks.hooked"), GetParam());
    PorticoProcess host(dir, config.yaml());
    ASSERT_TRUE(host.wait_ready());

    TcpClient client(host.port("hooked"));
    client.send("hello\n");
    EXPECT_EQ(client.read_line(), "hello\n");
    client.send("throw it broke\n");
    EXPECT_EQ(client.read_line(), "error hook: hooks_test::Failure: it broke\n");
    EXPECT_TRUE(client.read_until_closed(5s).has_value()) << "the connection stays open after handle_error";
    EXPECT_TRUE(host.wait_for_log_line({"hooked", "error hook saw hooks_test::Failure: it broke"}, 5s));
    EXPECT_EQ(host.count_log_lines({"threw"}), 0u) << "the default error log ran although the plugin handled it";
}

TEST_P(Hooks, HandleTimeoutIsCalledWhenAReadTimesOut) {
    TempDir dir;
    ConfigBuilder config;
    config.plugin_dir(make_plugin_dir(dir, {test_plugin("hooks")}));
    in_mode(config.service("hooked", "hooks.hooked"), GetParam()).option("read_timeout", "300ms");
    PorticoProcess host(dir, config.yaml());
    ASSERT_TRUE(host.wait_ready());

    TcpClient client(host.port("hooked"));
    client.send("wait\n");
    EXPECT_EQ(client.read_line(10s), "timeout hook\n");
    EXPECT_TRUE(client.read_until_closed(5s).has_value()) << "the connection stays open after handle_timeout";
    EXPECT_TRUE(host.wait_for_log_line({"hooked", "timeout hook called"}, 5s));
}

TEST_P(Hooks, DefaultErrorLogNamesTheExceptionType) {
    TempDir dir;
    ConfigBuilder config;
    config.plugin_dir(make_plugin_dir(dir, {test_plugin("throwing")}));
    in_mode(config.service("shouty", "throwing.boom"), GetParam());
    PorticoProcess host(dir, config.yaml());
    ASSERT_TRUE(host.wait_ready());

    TcpClient client(host.port("shouty"));
    client.send("boom\n");
    EXPECT_TRUE(client.read_until_closed(5s).has_value());
    const auto line = host.wait_for_log_line({"threw"}, 5s);
    ASSERT_TRUE(line) << host.log_text();
    EXPECT_NE(line->find("handler 'boom' threw std::runtime_error: boom requested by client"), std::string::npos)
        << *line;
}

TEST_P(Hooks, PluginBuiltAgainstMinor1HeadersLoadsAndServes) {
    TempDir dir;
    ConfigBuilder config;
    config.plugin_dir(make_plugin_dir(dir, {test_plugin("minor1_echo")}));
    in_mode(config.service("old", "minor1.echo"), GetParam());
    PorticoProcess host(dir, config.yaml());
    ASSERT_TRUE(host.wait_ready()) << host.log_text();

    TcpClient client(host.port("old"));
    client.send("hi\n");
    EXPECT_EQ(client.read_line(), "minor1: hi\n");
    client.send("again\n");
    EXPECT_EQ(client.read_line(), "minor1: again\n");
}

INSTANTIATE_TEST_SUITE_P(Modes, Hooks, ::testing::Values("threads", "events"),
                         [](const auto &info) { return info.param; });

// Mode process: verify_request runs in the worker that accepted the
// connection. (Its count reaches /metrics only once the master aggregates
// its workers' counters; the message and the log line are checked here.)
TEST(HooksProcessMode, VerifyRequestRefusesInTheWorkers) {
    TempDir dir;
    ConfigBuilder config;
    config.plugin_dir(make_plugin_dir(dir, {test_plugin("hooks")}));
    config.service("guarded", "hooks.guarded").option("mode", "process").option("workers", "2");
    PorticoProcess host(dir, config.yaml());
    ASSERT_TRUE(host.wait_ready()) << host.log_text();

    // Several connections, so both workers are likely to judge some.
    for (int i = 0; i < 6; ++i) {
        TcpClient stranger = connect_from("127.0.0.2", host.port("guarded"));
        EXPECT_EQ(stranger.read_until_closed(5s), "refused: 127.0.0.2:" + std::to_string(stranger.local_port()) + "\n");
        TcpClient friendly(host.port("guarded"));
        friendly.send("hello\n");
        EXPECT_EQ(friendly.read_line(), "hello\n");
    }
    EXPECT_TRUE(host.wait_for_log_line({"guarded", "verify_request refused it", "refused: 127.0.0.2:"}, 5s))
        << host.log_text();
}

// A config binding `handler` to a service in mode events.
std::filesystem::path events_config(const TempDir &dir, const std::filesystem::path &plugin,
                                    const std::string &handler) {
    ConfigBuilder config;
    config.plugin_dir(make_plugin_dir(dir, {plugin}));
    config.service("busy", handler).option("mode", "events");
    return dir.write_file("portico.yaml", config.yaml());
}

TEST(HandlerTraits, CheckAndStartRefuseABlockingHandlerInModeEvents) {
    TempDir dir;
    const auto file = events_config(dir, test_plugin("hooks"), "hooks.sleepy");
    for (const bool check : {true, false}) {
        const auto result =
            check ? run_portico({"--config", file.string(), "--check"}) : run_portico({"--config", file.string()});
        EXPECT_NE(result.status, ExitStatus::exited(0)) << result.output;
        EXPECT_NE(result.status, ExitStatus::still_running()) << "a refused config started serving";
        EXPECT_TRUE(std::regex_search(
            result.output,
            std::regex(
                R"(:[0-9]+:[0-9]+: services\[0\]\.handler: service 'busy': handler 'hooks\.sleepy' declares that it may block)")))
            << result.output;
        EXPECT_NE(result.output.find("mode: events"), std::string::npos) << result.output;
    }
}

TEST(HandlerTraits, ABlockingHandlerIsFineInModeThreads) {
    TempDir dir;
    ConfigBuilder config;
    config.plugin_dir(make_plugin_dir(dir, {test_plugin("hooks")}));
    config.service("busy", "hooks.sleepy").option("mode", "threads");
    const auto file = dir.write_file("portico.yaml", config.yaml());
    const auto result = run_portico({"--config", file.string(), "--check"});
    EXPECT_EQ(result.status, ExitStatus::exited(0)) << result.output;
}

TEST(HandlerTraits, ShippedBlockingHandlersAreDeclared) {
    // socketserver.upper_slow sleeps (delay_ms) outside Stream calls.
    TempDir dir;
    const auto file = events_config(dir, shipped_plugin("socketserver"), "socketserver.upper_slow");
    const auto result = run_portico({"--config", file.string(), "--check"});
    EXPECT_NE(result.status, ExitStatus::exited(0)) << result.output;
    EXPECT_NE(result.output.find("handler 'socketserver.upper_slow' declares that it may block"), std::string::npos)
        << result.output;
    // chat waits on its doorbell through the Stream (wake-ups): fine on a loop.
    for (const std::string handler : {"chat.chat", "chat.relay"}) {
        TempDir chat_dir;
        const auto chat_file = events_config(chat_dir, shipped_plugin("chat"), handler);
        const auto chat = run_portico({"--config", chat_file.string(), "--check"});
        EXPECT_EQ(chat.status, ExitStatus::exited(0)) << handler << ": " << chat.output;
    }
}

} // namespace
} // namespace portico::test
