// process_plugin_init_test.cpp — `mode: process`: the master never runs the
// code of a plugin that only process-mode services use. A check process runs
// its init and describes it; the master never maps the file (its workers
// do). An init that segfaults or hangs is refused, at start as a start-up
// error like any refused plugin, on a reload with the old version serving on,
// and the master, with its other services, stays up.
#include "harness/Deadline.h"
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
#include <fstream>
#include <ostream>
#include <regex>
#include <string>
#include <vector>

namespace portico::test {
namespace {

namespace fs = std::filesystem;

constexpr const char *in_process_mode = "    mode: process\n    workers: 1\n";

// Plugin "troubled" as troubled.so in `troubled_mode` (mode process by
// default), next to the shipped upper plugin in mode threads, with the
// admin server on.
std::string config_yaml(const fs::path &plugins, const std::string &troubled_mode = in_process_mode) {
    return "plugins:\n  dir: \"" + plugins.string() +
           "\"\n  watch: false\n  call_timeout: 1s\n"
           "services:\n"
           "  - name: troubled\n    listen: 127.0.0.1:0\n    handler: troubled.echo\n" +
           troubled_mode +
           "  - name: upper\n    listen: 127.0.0.1:0\n    handler: upper.upper\n"
           "admin:\n  listen: \"127.0.0.1:0\"\n"
           "logging: {level: information, format: text}\n"
           "shutdown_timeout: 5s\n";
}

fs::path plugin_dir_with(const TempDir &dir, const char *troubled_build) {
    const fs::path plugins = make_plugin_dir(dir, {shipped_plugin("upper")});
    fs::copy_file(test_plugin(troubled_build), plugins / "troubled.so");
    return plugins;
}

std::uint16_t admin_port(PorticoProcess &host) {
    const auto match = host.wait_for_log(std::regex(R"(admin listening on [0-9.]+:(\d+))"), 5s);
    if (!match) throw std::runtime_error("no 'admin listening on' line");
    return static_cast<std::uint16_t>(std::stoi((*match)[1]));
}

// Whether a file whose path contains `part` is mapped into process `pid`.
bool maps_mention(pid_t pid, const std::string &part) {
    std::ifstream maps("/proc/" + std::to_string(pid) + "/maps");
    for (std::string line; std::getline(maps, line);)
        if (line.find(part) != std::string::npos) return true;
    return false;
}

// The answer to one line on a fresh connection, "" when none came.
std::string ask(std::uint16_t port, const std::string &line) {
    try {
        TcpClient client(port);
        client.send(line + "\n");
        return client.read_line().value_or("");
    } catch (const std::exception &) {
        return "";
    }
}

// The plugin named `name` in /status, or a null Json.
Json plugin_status(std::uint16_t admin, const std::string &name) {
    const Json status = Json::parse(http_get(admin, "/status").body);
    for (const Json &plugin : status["plugins"].array())
        if (plugin["name"].string() == name) return plugin;
    return Json();
}

TEST(ProcessPluginInit, TheMasterNeverLoadsAProcessOnlyPluginAndItServesAndReloads) {
    TempDir dir;
    const fs::path plugins = plugin_dir_with(dir, "init_ok");
    PorticoProcess host(dir, config_yaml(plugins));
    ASSERT_TRUE(host.wait_ready()) << host.log_text();
    const std::uint16_t admin = admin_port(host);
    EXPECT_TRUE(host.wait_for_log_line({"loaded plugin 'troubled' 1.0.0", "its init ran in a check process"}, 5s));

    EXPECT_TRUE(wait_until([&] { return ask(host.port("troubled"), "hi") == "1.0.0 hi\n"; }, 10s, 20ms));
    const auto serving = host.wait_for_log(std::regex("worker ([0-9]+) of service 'troubled' serving"), 5s);
    ASSERT_TRUE(serving) << host.log_text();
    const pid_t worker = static_cast<pid_t>(std::stoi((*serving)[1]));
    // The worker maps its copy of the plugin; the master none, though it maps
    // the plugin its threads-mode service runs.
    EXPECT_TRUE(maps_mention(worker, "/troubled.")) << "the worker does not map the plugin";
    EXPECT_TRUE(maps_mention(host.pid(), "/upper.")) << "the master does not map its threads-mode plugin";
    EXPECT_FALSE(maps_mention(host.pid(), "/troubled.")) << "the master mapped a plugin only mode process uses";

    // /status reports the described version like any other.
    const Json before = plugin_status(admin, "troubled");
    ASSERT_FALSE(before.is_null());
    EXPECT_EQ(before["version"].string(), "1.0.0");
    EXPECT_EQ(before["handlers"][0].string(), "echo");

    replace_by_rename(test_plugin("init_ok_next"), plugins / "troubled.so");
    host.send_signal(SIGHUP);
    const auto now_uses =
        host.wait_for_log(std::regex("service 'troubled' now uses troubled 1\\.1\\.0 \\(generation ([0-9]+)\\)"), 10s);
    ASSERT_TRUE(now_uses) << host.log_text();
    EXPECT_TRUE(wait_until([&] { return ask(host.port("troubled"), "again") == "1.1.0 again\n"; }, 10s, 20ms));
    const Json after = plugin_status(admin, "troubled");
    EXPECT_EQ(after["version"].string(), "1.1.0");
    EXPECT_EQ(std::to_string(static_cast<long>(after["generation"].number())), (*now_uses)[1]);
    EXPECT_GT(after["generation"].number(), before["generation"].number());
    EXPECT_FALSE(maps_mention(host.pid(), "/troubled.")) << "the master mapped the reloaded plugin";
    EXPECT_EQ(ask(host.port("upper"), "still"), "STILL\n");

    host.send_signal(SIGTERM);
    EXPECT_EQ(host.wait_exit(15s), ExitStatus::exited(0));
}

TEST(ProcessPluginInit, AConfigReloadThatBindsItOutsideModeProcessLoadsItIntoTheHost) {
    TempDir dir;
    const fs::path plugins = plugin_dir_with(dir, "init_ok");
    PorticoProcess host(dir, config_yaml(plugins));
    ASSERT_TRUE(host.wait_ready()) << host.log_text();
    EXPECT_TRUE(wait_until([&] { return ask(host.port("troubled"), "hi") == "1.0.0 hi\n"; }, 10s, 20ms));
    EXPECT_FALSE(maps_mention(host.pid(), "/troubled."));

    host.rewrite_config(config_yaml(plugins, "    mode: threads\n"));
    host.send_signal(SIGHUP);
    EXPECT_TRUE(host.wait_for_log_line({"loaded troubled 1.0.0", "into the host"}, 10s)) << host.log_text();
    const auto changed = host.wait_for_log(std::regex(R"(service 'troubled' changed: now on [0-9.]+:(\d+))"), 10s);
    ASSERT_TRUE(changed) << host.log_text();
    const auto port = static_cast<std::uint16_t>(std::stoi((*changed)[1]));
    EXPECT_TRUE(wait_until([&] { return ask(port, "here") == "1.0.0 here\n"; }, 10s, 20ms));
    EXPECT_TRUE(maps_mention(host.pid(), "/troubled.")) << "the threads-mode service runs in the master";

    host.send_signal(SIGTERM);
    EXPECT_EQ(host.wait_exit(15s), ExitStatus::exited(0));
}

struct TroubleCase {
    const char *build;
    const char *version;
    const char *refusal; // what the log says happened in init
};

// Names the case in test listings (rather than its bytes).
void PrintTo(const TroubleCase &c, std::ostream *os) {
    *os << c.build;
}

class TroubledInit : public ::testing::TestWithParam<TroubleCase> {};

TEST_P(TroubledInit, AReloadToItIsRefusedTheOldVersionServesAndTheMasterStaysUp) {
    const TroubleCase c = GetParam();
    TempDir dir;
    const fs::path plugins = plugin_dir_with(dir, "init_ok");
    PorticoProcess host(dir, config_yaml(plugins));
    ASSERT_TRUE(host.wait_ready()) << host.log_text();
    const std::uint16_t admin = admin_port(host);
    EXPECT_TRUE(wait_until([&] { return ask(host.port("troubled"), "hi") == "1.0.0 hi\n"; }, 10s, 20ms));

    replace_by_rename(test_plugin(c.build), plugins / "troubled.so");
    const HttpResponse reload = http_post(admin, "/reload?scope=plugins");
    EXPECT_NE(reload.body.find(c.refusal), std::string::npos) << reload.body;
    EXPECT_TRUE(host.wait_for_log_line(
        {"troubled.so", std::string("plugin 'troubled' ") + c.version, c.refusal, "previous version keeps serving"},
        10s))
        << host.log_text();

    ASSERT_TRUE(host.running()) << "the plugin's init took the master down";
    EXPECT_EQ(ask(host.port("upper"), "other"), "OTHER\n");
    EXPECT_EQ(ask(host.port("troubled"), "old"), "1.0.0 old\n");
    const Json status = Json::parse(http_get(admin, "/status").body);
    EXPECT_NE(status["registry"]["last_error"].string().find(c.refusal), std::string::npos)
        << status["registry"]["last_error"].string();
    EXPECT_EQ(plugin_status(admin, "troubled")["version"].string(), "1.0.0");

    host.send_signal(SIGTERM);
    EXPECT_EQ(host.wait_exit(15s), ExitStatus::exited(0));
}

TEST_P(TroubledInit, AtStartItIsAStartupErrorNamingTheFileAndWhatHappenedInInit) {
    const TroubleCase c = GetParam();
    TempDir dir;
    const fs::path plugins = plugin_dir_with(dir, c.build);
    PorticoProcess host(dir, config_yaml(plugins));
    // Refused as a plugin whose init fails is: the host does not start, and
    // says why, rather than dying of it.
    EXPECT_EQ(host.wait_exit(15s), ExitStatus::exited(2));
    EXPECT_FALSE(
        lines_containing(host.log_text(), {"troubled.so", std::string("plugin 'troubled' ") + c.version, c.refusal})
            .empty())
        << host.log_text();
}

TEST_P(TroubledInit, PorticoCheckReportsIt) {
    const TroubleCase c = GetParam();
    TempDir dir;
    const fs::path plugins = plugin_dir_with(dir, c.build);
    PorticoProcess host(dir, config_yaml(plugins), {"--check"});
    EXPECT_EQ(host.wait_exit(15s), ExitStatus::exited(2));
    EXPECT_FALSE(lines_containing(host.log_text(), {"troubled.so", c.refusal}).empty()) << host.log_text();
}

INSTANTIATE_TEST_SUITE_P(
    Init, TroubledInit,
    ::testing::Values(TroubleCase{"init_segv", "2.0.0-segv", "crashed in init (SIGSEGV) in a check process"},
                      TroubleCase{"init_hang", "2.0.0-hang", "init did not return within plugins.call_timeout"}),
    [](const auto &info) { return std::string(info.param.build); });

} // namespace
} // namespace portico::test
