// service_call_deadline_test.cpp — a plugin's per-service entry points
// (service open and close, state export and import) run under
// plugins.call_timeout (issue 14): one that never returns is abandoned,
// logged by name, counted in /status, and the host starts, reloads and stops
// as it would without it. Plugin "hang_service" hangs where its config says.
#include "harness/ConfigBuilder.h"
#include "harness/HttpClient.h"
#include "harness/Json.h"
#include "harness/Paths.h"
#include "harness/PluginDir.h"
#include "harness/PluginFiles.h"
#include "harness/PorticoProcess.h"
#include "harness/TcpClient.h"
#include "harness/TempDir.h"

#include <gtest/gtest.h>

#include <csignal>
#include <cstdint>
#include <filesystem>
#include <string>

namespace portico::test {
namespace {

namespace fs = std::filesystem;

// A host serving hang_service version 1 as service "svc", with `hang` as
// the entry point that never returns and a 500ms call deadline.
struct HangingHost {
    TempDir dir;
    fs::path installed;
    ConfigBuilder config;

    explicit HangingHost(const std::string &hang) {
        const fs::path plugins = dir.subdir("plugins");
        installed = plugins / "hang_service.so";
        dir.copy_in(test_plugin("hang_service_a"), "plugins/hang_service.so");
        config.plugin_dir(plugins).plugins_option("call_timeout", "500ms");
        config.service("svc", "hang_service.echo").threads(1, 4).setting("hang", hang);
        config.raw("admin:\n  listen: 127.0.0.1:0");
    }
};

std::uint16_t admin_port_of(PorticoProcess &host) {
    const auto admin = host.wait_for_log(std::regex(R"(admin listening on [0-9.]+:(\d+))"), 5s);
    if (!admin) return 0;
    return static_cast<std::uint16_t>(std::stoi((*admin)[1]));
}

double stuck_calls(std::uint16_t admin_port) {
    const HttpResponse status = http_get(admin_port, "/status");
    if (status.status != 200) return -1;
    return Json::parse(status.body)["registry"]["stuck_plugin_calls"].number();
}

std::string echo(std::uint16_t port, const std::string &line) {
    TcpClient client(port);
    client.send(line + "\n");
    return client.read_line().value_or("<no reply>");
}

TEST(ServiceCallDeadline, AStuckServiceOpenFailsTheStartWithTheEntryPointAndDeadline) {
    HangingHost setup("open");
    PorticoProcess host(setup.dir, setup.config.yaml());
    EXPECT_EQ(host.wait_exit(15s), ExitStatus::exited(2));
    EXPECT_FALSE(lines_containing(host.log_text(), {"service 'svc'", "hang_service.echo", "hang_service.so",
                                                    "service_open did not return within plugins.call_timeout (500ms)"})
                     .empty())
        << host.log_text();
}

// Export (old version) or import (new version) never returns: the reload
// still goes through, the new version serves without the hand-off.
class StuckHandoff : public ::testing::TestWithParam<const char *> {};

TEST_P(StuckHandoff, IsAbandonedLoggedAndCountedAndTheNewVersionServes) {
    const std::string entry = GetParam();
    HangingHost setup(entry);
    PorticoProcess host(setup.dir, setup.config.yaml());
    ASSERT_TRUE(host.wait_ready());
    const auto admin_port = admin_port_of(host);
    ASSERT_NE(admin_port, 0) << host.log_text();
    const auto port = host.port("svc");
    EXPECT_EQ(echo(port, "one"), "v1 one\n");
    EXPECT_EQ(stuck_calls(admin_port), 0);

    replace_by_rename(test_plugin("hang_service_b"), setup.installed);
    EXPECT_TRUE(host.wait_for_log_line({"service 'svc'", "hang_service.echo",
                                        "state_" + entry +
                                            " did not return within "
                                            "plugins.call_timeout (500ms)",
                                        "hand-off is abandoned"},
                                       15s))
        << "no log line naming the plugin and state_" << entry;
    EXPECT_TRUE(host.wait_for_log_line({"service 'svc' now uses hang_service 2"}, 15s)) << "the reload did not finish";
    EXPECT_TRUE(wait_until([&] { return stuck_calls(admin_port) == 1; }, 10s, 50ms))
        << "the stuck state_" << entry << " is not counted in /status";
    EXPECT_EQ(echo(port, "two"), "v2 two\n");

    host.send_signal(SIGTERM);
    EXPECT_EQ(host.wait_exit(15s), ExitStatus::exited(0));
}

INSTANTIATE_TEST_SUITE_P(EntryPoints, StuckHandoff, ::testing::Values("export", "import"),
                         [](const auto &info) { return std::string(info.param); });

TEST(ServiceCallDeadline, AStuckServiceCloseIsCountedAndReloadsAndShutdownProceed) {
    HangingHost setup("close");
    PorticoProcess host(setup.dir, setup.config.yaml());
    ASSERT_TRUE(host.wait_ready());
    const auto admin_port = admin_port_of(host);
    ASSERT_NE(admin_port, 0) << host.log_text();
    const auto port = host.port("svc");
    EXPECT_EQ(echo(port, "one"), "v1 one\n");

    // The reload replaces version 1's binding, whose close never returns.
    replace_by_rename(test_plugin("hang_service_b"), setup.installed);
    EXPECT_TRUE(host.wait_for_log_line({"service 'svc' now uses hang_service 2"}, 15s)) << "the reload did not finish";
    EXPECT_TRUE(host.wait_for_log_line(
        {"service 'svc'", "hang_service.echo", "service_close did not return within plugins.call_timeout (500ms)"},
        15s))
        << "no log line naming the plugin and service_close";
    EXPECT_TRUE(wait_until([&] { return stuck_calls(admin_port) == 1; }, 10s, 50ms))
        << "the stuck service_close is not counted in /status";
    EXPECT_EQ(echo(port, "two"), "v2 two\n");

    // Version 2's close hangs too: SIGTERM still ends the host.
    host.send_signal(SIGTERM);
    const ExitStatus end = host.wait_exit(15s);
    EXPECT_FALSE(end.is_running()) << "SIGTERM did not end a host with a stuck service_close";
    EXPECT_EQ(end, ExitStatus::exited(0));
    EXPECT_EQ(host.count_log_lines({"service_close did not return"}), 2u) << host.log_text();
}

} // namespace
} // namespace portico::test
