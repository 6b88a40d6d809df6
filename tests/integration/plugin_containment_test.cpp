// plugin_containment_test.cpp — a plugin file cannot take the host down or
// wedge it (issue 14): a library whose constructor aborts or segfaults is
// loaded first in a check process and refused with the signal; an init that
// never returns is refused after plugins.call_timeout, counted as stuck in
// /status, and the host still answers /health, SIGHUP and SIGTERM.
#include "harness/AdminHost.h"
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
#include <filesystem>
#include <string>

namespace portico::test {
namespace {

namespace fs = std::filesystem;

void expect_upper_serves(const PorticoProcess &host) {
    TcpClient client(host.port("upper"));
    client.send("still here\n");
    EXPECT_EQ(client.read_line(), "STILL HERE\n");
}

struct CrashCase {
    const char *plugin;
    const char *signal;
};

class CrashingConstructor : public ::testing::TestWithParam<CrashCase> {};

TEST_P(CrashingConstructor, DroppedIntoARunningHostIsRefusedWithTheSignalAndTheHostServesOn) {
    const CrashCase c = GetParam();
    TempDir dir;
    const fs::path plugins = make_plugin_dir(dir, {shipped_plugin("upper")});
    ConfigBuilder config;
    config.plugin_dir(plugins);
    config.service("upper", "upper.upper");
    PorticoProcess host(dir, config.yaml());
    ASSERT_TRUE(host.wait_ready());

    const std::string file = std::string(c.plugin) + ".so";
    replace_by_rename(test_plugin(c.plugin), plugins / file);
    EXPECT_TRUE(host.wait_for_log_line(
        {file, std::string("crashed while loading (") + c.signal + ") in a check process", "not loaded"}, 15s))
        << "no refusal naming " << file << " and " << c.signal;
    ASSERT_TRUE(host.running()) << "the crash took the host down";
    expect_upper_serves(host);
    host.send_signal(SIGTERM);
    EXPECT_EQ(host.wait_exit(15s), ExitStatus::exited(0));
}

TEST_P(CrashingConstructor, AtStartIsAClearStartupError) {
    const CrashCase c = GetParam();
    TempDir dir;
    const fs::path plugins = make_plugin_dir(dir, {test_plugin(c.plugin)});
    ConfigBuilder config;
    config.plugin_dir(plugins);
    config.service("crash", "ctor_crash.any");
    PorticoProcess host(dir, config.yaml());
    EXPECT_EQ(host.wait_exit(15s), ExitStatus::exited(2));
    const std::string file = std::string(c.plugin) + ".so";
    EXPECT_FALSE(
        lines_containing(host.log_text(), {file, std::string("crashed while loading (") + c.signal + ")"}).empty())
        << host.log_text();
}

INSTANTIATE_TEST_SUITE_P(Signals, CrashingConstructor,
                         ::testing::Values(CrashCase{"ctor_abort", "SIGABRT"}, CrashCase{"ctor_segv", "SIGSEGV"}),
                         [](const auto &info) { return std::string(info.param.plugin); });

double stuck_calls(std::uint16_t admin_port) {
    const HttpResponse status = http_get(admin_port, "/status");
    if (status.status != 200) return -1;
    return Json::parse(status.body)["registry"]["stuck_plugin_calls"].number();
}

TEST(HangingInit, DroppedIntoARunningHostIsRefusedCountedAndTheHostStaysResponsive) {
    TempDir dir;
    const fs::path plugins = make_plugin_dir(dir, {shipped_plugin("upper")});
    ConfigBuilder config;
    config.plugin_dir(plugins).plugins_option("call_timeout", "1s");
    config.service("upper", "upper.upper");
    config.raw("admin:\n  listen: 127.0.0.1:0");
    PorticoProcess host(dir, config.yaml());
    ASSERT_TRUE(host.wait_ready());
    const auto admin = host.wait_for_log(std::regex(R"(admin listening on [0-9.]+:(\d+))"), 5s);
    ASSERT_TRUE(admin) << host.log_text();
    const auto admin_port = static_cast<std::uint16_t>(std::stoi((*admin)[1]));
    EXPECT_EQ(stuck_calls(admin_port), 0);

    replace_by_rename(test_plugin("hang_init"), plugins / "hang_init.so");
    EXPECT_TRUE(host.wait_for_log_line({"hang_init.so", "plugin 'hang_init': init did not return within "
                                                        "plugins.call_timeout (1000ms); refused"},
                                       15s));
    EXPECT_TRUE(wait_until([&] { return stuck_calls(admin_port) == 1; }, 10s, 50ms))
        << "the stuck init is not counted in /status";
    EXPECT_EQ(http_get(admin_port, "/health").status, 200);
    expect_upper_serves(host);

    // The control path is free again: a SIGHUP reload runs to its end (it
    // retries the file, whose init hangs again and is refused again).
    const auto refusals = host.count_log_lines({"hang_init.so", "init did not return"});
    host.send_signal(SIGHUP);
    EXPECT_TRUE(wait_until(
        [&] {
            return host.count_log_lines({"hang_init.so", "init did not return"}) > refusals;
        },
        15s, 20ms))
        << "the SIGHUP reload did not get through";
    EXPECT_EQ(http_post(admin_port, "/reload?scope=plugins").status, 422)
        << "the admin reload should come back with the refusal";
    expect_upper_serves(host);

    host.send_signal(SIGTERM);
    const ExitStatus end = host.wait_exit(15s);
    EXPECT_FALSE(end.is_running()) << "SIGTERM did not end a host with a stuck plugin call";
    EXPECT_EQ(end.kind, ExitStatus::Kind::exited) << end;
}

TEST(HangingInit, AtStartFailsWithTheMessageInsteadOfHanging) {
    TempDir dir;
    ConfigBuilder config;
    config.plugin_dir(make_plugin_dir(dir, {test_plugin("hang_init")})).plugins_option("call_timeout", "1s");
    config.service("hang", "hang_init.any");
    PorticoProcess host(dir, config.yaml());
    EXPECT_EQ(host.wait_exit(15s), ExitStatus::exited(2));
    EXPECT_FALSE(
        lines_containing(host.log_text(), {"hang_init.so", "init did not return within plugins.call_timeout"}).empty())
        << host.log_text();
}

} // namespace
} // namespace portico::test
