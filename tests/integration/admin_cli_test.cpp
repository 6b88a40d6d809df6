// admin_cli_test.cpp — `portico status` and `portico reload` against a
// running host, reading the admin address and token from the same config;
// a unix admin socket is removed at stop, so the next start can bind it.
#include "harness/AdminHost.h"
#include "harness/ConfigBuilder.h"
#include "harness/Json.h"
#include "harness/Paths.h"
#include "harness/PluginDir.h"
#include "harness/PorticoCommand.h"
#include "harness/TcpClient.h"

#include <gtest/gtest.h>

#include <csignal>
#include <filesystem>

namespace portico::test {
namespace {

AdminHostSpec fixed_port_spec(const TempDir &dir) {
    AdminHostSpec spec;
    spec.plugin_dir = make_plugin_dir(dir, {shipped_plugin("upper"), shipped_plugin("echo")});
    spec.services = {{"upper", "upper.upper", ""}, {"echo", "echo.echo", ""}};
    // The CLI reads the address from the file, so it must name a real port.
    spec.admin_listen = "127.0.0.1:" + std::to_string(free_tcp_port());
    return spec;
}

TEST(AdminCli, StatusPrintsEveryServiceWithItsCounters) {
    TempDir dir;
    AdminHost host(dir, fixed_port_spec(dir));
    {
        TcpClient client(host.port("upper"));
        EXPECT_EQ(client.round_trip("hi\n"), "HI\n");
    }
    const auto result = run_portico({"status", "--config", host.process().config_path().string()});
    EXPECT_EQ(result.status, ExitStatus::exited(0)) << result.output;
    EXPECT_NE(result.output.find("ready"), std::string::npos) << result.output;
    EXPECT_NE(result.output.find("upper.upper"), std::string::npos) << result.output;
    EXPECT_NE(result.output.find("echo.echo"), std::string::npos) << result.output;
    EXPECT_NE(result.output.find("127.0.0.1:" + std::to_string(host.port("upper"))), std::string::npos)
        << result.output;
    EXPECT_NE(result.output.find("plugins:"), std::string::npos) << result.output;
}

TEST(AdminCli, StatusJsonIsTheAdminDocument) {
    TempDir dir;
    AdminHost host(dir, fixed_port_spec(dir));
    const auto result = run_portico({"status", "--json", "--config", host.process().config_path().string()});
    ASSERT_EQ(result.status, ExitStatus::exited(0)) << result.output;
    const Json status = Json::parse(result.output);
    EXPECT_EQ(status["services"].size(), 2u);
    EXPECT_TRUE(status["host"]["ready"].boolean());
}

TEST(AdminCli, ReloadPrintsWhatChangedAndIsRecorded) {
    TempDir dir;
    AdminHost host(dir, fixed_port_spec(dir));
    const auto config = host.process().config_path().string();
    const auto result = run_portico({"reload", "plugins", "--config", config});
    EXPECT_EQ(result.status, ExitStatus::exited(0)) << result.output;
    EXPECT_NE(result.output.find("reload plugins: ok"), std::string::npos) << result.output;
    EXPECT_NE(result.output.find("no plugin file changed"), std::string::npos) << result.output;

    const Json status = Json::parse(host.get("/status").body);
    ASSERT_EQ(status["reloads"]["history"].size(), 1u);
    EXPECT_EQ(status["reloads"]["history"][0]["scope"].string(), "plugins");
    EXPECT_EQ(status["reloads"]["history"][0]["trigger"].string(), "admin");
}

TEST(AdminCli, UsesTheTokenFromTheConfigAndExplainsARefusal) {
    TempDir dir;
    AdminHostSpec spec = fixed_port_spec(dir);
    spec.token = "cli-token";
    AdminHost host(dir, spec);
    const auto config = host.process().config_path().string();
    const auto ok = run_portico({"status", "--config", config});
    EXPECT_EQ(ok.status, ExitStatus::exited(0)) << ok.output;

    // The same address with another token: refused, and the message says what to fix.
    AdminHostSpec other = spec;
    other.token = "not-the-token";
    const auto wrong_config = dir.write_file("wrong.yaml", other.yaml());
    const auto refused = run_portico({"reload", "--config", wrong_config.string()});
    EXPECT_EQ(refused.status, ExitStatus::exited(1)) << refused.output;
    EXPECT_NE(refused.output.find("refused the token"), std::string::npos) << refused.output;
    EXPECT_NE(refused.output.find("PORTICO_ADMIN_TOKEN"), std::string::npos) << refused.output;
}

TEST(AdminCli, ExplainsAMissingAdminSectionOrAHostThatIsNotRunning) {
    TempDir dir;
    const auto no_admin = dir.write_file(
        "no-admin.yaml", "plugins: {dir: \"" + make_plugin_dir(dir, {shipped_plugin("upper")}).string() +
                             "\"}\nservices:\n  - {name: upper, listen: 127.0.0.1:0, handler: upper.upper}\n");
    const auto missing = run_portico({"status", "--config", no_admin.string()});
    EXPECT_EQ(missing.status, ExitStatus::exited(2)) << missing.output;
    EXPECT_NE(missing.output.find("admin.listen"), std::string::npos) << missing.output;

    const auto down = dir.write_file("down.yaml", fixed_port_spec(dir).yaml());
    const auto unreachable = run_portico({"status", "--config", down.string()});
    EXPECT_EQ(unreachable.status, ExitStatus::exited(1)) << unreachable.output;
    EXPECT_NE(unreachable.output.find("cannot talk to the admin server"), std::string::npos) << unreachable.output;

    const auto usage = run_portico({"reload", "sideways", "--config", down.string()});
    EXPECT_EQ(usage.status, ExitStatus::exited(2)) << usage.output;
}

TEST(AdminCli, UnixAdminSocketFileIsRemovedAtStopSoTheNextStartCanBindIt) {
    TempDir dir;
    const std::filesystem::path socket = dir / "admin.sock";
    ConfigBuilder config;
    config.plugin_dir(make_plugin_dir(dir, {shipped_plugin("upper")}));
    config.service("upper", "upper.upper");
    config.raw("admin:\n  listen: \"unix:" + socket.string() + "\"\n");
    for (int run = 1; run <= 2; ++run) {
        SCOPED_TRACE("start " + std::to_string(run));
        PorticoProcess host(dir, config.yaml());
        ASSERT_TRUE(host.wait_ready()) << host.log_text();
        ASSERT_TRUE(host.wait_for_log("admin listening on", 5s)) << host.log_text();
        const auto status = run_portico({"status", "--config", host.config_path().string()});
        EXPECT_EQ(status.status, ExitStatus::exited(0)) << status.output;
        host.send_signal(SIGTERM);
        ASSERT_EQ(host.wait_exit(10s), ExitStatus::exited(0)) << host.log_text();
        EXPECT_FALSE(std::filesystem::exists(std::filesystem::symlink_status(socket)))
            << "the admin socket file outlived the host";
    }
}

} // namespace
} // namespace portico::test
