// install_test.cpp — `cmake --install` into a DESTDIR puts the daemon, the
// shipped plugins, a config naming them, the systemd units, the docs and
// the SDK in place; the installed binary serves on that config from any
// working directory, and every command finds the same default config.
#include "harness/ExternalTool.h"
#include "harness/InstallLayout.h"
#include "harness/InstalledHost.h"
#include "harness/Paths.h"
#include "harness/TcpClient.h"
#include "harness/TempDir.h"

#include <gtest/gtest.h>

#include <csignal>
#include <filesystem>
#include <fstream>
#include <sstream>
#include <string>

namespace portico::test {
namespace {

namespace fs = std::filesystem;

std::string read_text(const fs::path &file) {
    std::ifstream in(file);
    std::stringstream text;
    text << in.rdbuf();
    return text.str();
}

// The shipped plugins, from the build's plugin folder (the install must hold them all).
std::vector<std::string> built_plugins() {
    std::vector<std::string> names;
    for (const auto &entry : fs::directory_iterator(shipped_plugin("upper").parent_path()))
        if (entry.path().extension() == ".so") names.push_back(entry.path().filename().string());
    return names;
}

TEST(Install, PutsDaemonPluginsConfigUnitsDocsAndSdkUnderTheDestdir) {
    TempDir dir("portico-install");
    const InstallLayout installed = InstallLayout::below_root(dir / "root");
    install_into(installed.root());

    EXPECT_TRUE(fs::is_regular_file(installed.binary())) << installed.binary();
    const auto plugins = built_plugins();
    ASSERT_FALSE(plugins.empty());
    for (const auto &plugin : plugins)
        EXPECT_TRUE(fs::is_regular_file(installed.plugin_dir() / plugin)) << installed.plugin_dir() / plugin;
    EXPECT_TRUE(fs::is_regular_file(installed.config())) << installed.config();
    EXPECT_TRUE(fs::is_regular_file(installed.unit_dir() / "portico.service"));
    EXPECT_TRUE(fs::is_regular_file(installed.unit_dir() / "portico.socket"));
    EXPECT_TRUE(fs::is_regular_file(installed.doc_dir() / "deploy.md"));
    EXPECT_TRUE(fs::is_regular_file(installed.doc_dir() / "README.md"));
    EXPECT_TRUE(fs::is_regular_file(installed.include_dir() / "portico/portico.h")) << "the sdk component too";

    // The installed files name the installed paths, never the build's.
    const std::string config = read_text(installed.config());
    EXPECT_NE(config.find("dir: " + installed.named_plugin_dir().string()), std::string::npos) << config;
    const std::string unit = read_text(installed.unit_dir() / "portico.service");
    EXPECT_NE(unit.find("ExecStart=" + installed.named_binary().string() + " --config " + installed_config().string()),
              std::string::npos)
        << unit;
    for (const auto &text : {config, unit})
        EXPECT_EQ(text.find(build_dir().string()), std::string::npos) << "names the build folder:\n" << text;
}

TEST(Install, TheDaemonComponentAloneHoldsNoSdk) {
    TempDir dir("portico-install");
    const InstallLayout installed = InstallLayout::below_root(dir / "root");
    install_into(installed.root(), "daemon");
    EXPECT_TRUE(fs::is_regular_file(installed.binary()));
    EXPECT_TRUE(fs::is_regular_file(installed.config()));
    EXPECT_FALSE(fs::exists(installed.include_dir() / "portico")) << "the SDK is the sdk component's";
}

TEST(Install, ASecondInstallKeepsAnEditedConfigAndPutsTheDefaultBesideIt) {
    TempDir dir("portico-install");
    const InstallLayout installed = InstallLayout::below_root(dir / "root");
    install_into(installed.root(), "daemon");
    const std::string shipped = read_text(installed.config());
    std::ofstream(installed.config(), std::ios::app) << "# edited by the admin\n";

    install_into(installed.root(), "daemon");
    EXPECT_EQ(read_text(installed.config()), shipped + "# edited by the admin\n");
    fs::path dist = installed.config();
    dist += ".dist";
    EXPECT_EQ(read_text(dist), shipped);

    // An unedited config is simply the same file again: no .dist.
    const InstallLayout fresh = InstallLayout::below_root(dir / "fresh");
    install_into(fresh.root(), "daemon");
    install_into(fresh.root(), "daemon");
    fs::path fresh_dist = fresh.config();
    fresh_dist += ".dist";
    EXPECT_FALSE(fs::exists(fresh_dist));
}

TEST(Install, TheInstalledBinaryServesTheSeedExchangeOnTheInstalledConfigFromAnyFolder) {
    TempDir dir("portico-install");
    const InstallLayout installed = InstallLayout::below_root(dir / "root");
    install_into(installed.root());

    InstalledHost host(installed, dir);
    ASSERT_TRUE(host.wait_ready()) << host.log_text();
    {
        TcpClient client(host.port("upper"));
        client.send("Hello, Server!\n");
        EXPECT_EQ(client.read_line(), "HELLO, SERVER!\n");
    }

    // `portico status` from another folder, no --config: $PORTICO_CONFIG.
    const auto status =
        run_tool(require_tool("env", "coreutils"), {"-C", "/tmp", "PORTICO_CONFIG=" + host.config_path().string(),
                                                    installed.binary().string(), "status"});
    EXPECT_EQ(status.status, ExitStatus::exited(0)) << status.describe();
    EXPECT_NE(status.output.find("upper.upper"), std::string::npos) << status.output;

    host.send_signal(SIGTERM);
    EXPECT_EQ(host.wait_exit(20s), ExitStatus::exited(0)) << host.log_text();
}

// Without --config and $PORTICO_CONFIG, every command reads the config
// compiled in from the install prefix, whatever the working directory.
TEST(Install, WithoutConfigOrEnvEveryCommandReadsTheInstalledConfigPath) {
    const std::string expected = installed_config().string();
    if (fs::exists(expected)) GTEST_SKIP() << expected << " exists on this machine: a command would read it";
    const auto env = require_tool("env", "coreutils");
    const auto help = run_tool(env, {"-C", "/tmp", "-u", "PORTICO_CONFIG", portico_binary().string(), "--help"});
    EXPECT_EQ(help.status, ExitStatus::exited(0)) << help.describe();
    EXPECT_NE(help.output.find("Installed config: " + expected), std::string::npos) << help.output;

    const std::vector<std::vector<std::string>> commands{{"--check"}, {"status"}, {"reload"}};
    for (const auto &command : commands) {
        std::vector<std::string> args{"-C", "/tmp", "-u", "PORTICO_CONFIG", portico_binary().string()};
        args.insert(args.end(), command.begin(), command.end());
        const auto result = run_tool(env, args);
        // No portico is installed here: each command names the path it
        // tried and how to name another.
        EXPECT_EQ(result.status, ExitStatus::exited(2)) << result.describe();
        EXPECT_NE(result.output.find(expected + ": cannot read config file"), std::string::npos) << result.output;
        EXPECT_NE(result.output.find("pass --config FILE or set PORTICO_CONFIG=FILE"), std::string::npos)
            << result.output;
    }
}

} // namespace
} // namespace portico::test
