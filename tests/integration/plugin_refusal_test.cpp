// plugin_refusal_test.cpp — broken plugin files are refused one by one, each
// with its file and a reason a user can act on, and the host still serves
// the services whose plugins are fine.
#include "harness/ConfigBuilder.h"
#include "harness/Paths.h"
#include "harness/PluginDir.h"
#include "harness/PorticoProcess.h"
#include "harness/TcpClient.h"
#include "harness/TempDir.h"

#include <gtest/gtest.h>

namespace portico::test {
namespace {

TEST(PluginRefusal, BrokenPluginsAreLoggedAndTheGoodOneServes) {
    TempDir dir;
    const auto plugins = make_plugin_dir(
        dir, {shipped_plugin("upper"), test_plugin("no_entry"), test_plugin("bad_magic"), test_plugin("bad_abi")});
    dir.write_file("plugins/garbage.so", "this is a text file, not a shared object\n");
    ConfigBuilder config;
    config.plugin_dir(plugins);
    config.service("upper", "upper.upper");
    PorticoProcess host(dir, config.yaml());
    ASSERT_TRUE(host.wait_ready()) << "one good plugin is enough to start";

    const std::pair<const char *, const char *> refusals[] = {
        {"garbage.so", "is not an ELF shared object"},
        {"no_entry.so", "does not export portico_plugin_v1"},
        {"bad_magic.so", "bad magic"},
        {"bad_abi.so", "plugin ABI version 99 is not supported"},
    };
    for (const auto &[file, reason] : refusals)
        EXPECT_TRUE(host.wait_for_log_line({file, reason}, 2s))
            << "no log line naming " << file << " with the reason \"" << reason << "\"";
    EXPECT_TRUE(lines_containing(host.log_text(), {"upper.so", "refus"}).empty()) << "the good plugin was refused";

    TcpClient client(host.port("upper"));
    client.send("Hello, Server!\n");
    EXPECT_EQ(client.read_line(), "HELLO, SERVER!\n");
}

TEST(PluginRefusal, PluginWhoseInitFailsIsRefusedWithItsReason) {
    TempDir dir;
    ConfigBuilder config;
    config.plugin_dir(make_plugin_dir(dir, {shipped_plugin("upper"), test_plugin("init_fails"), test_plugin("dup_handler")}));
    config.service("upper", "upper.upper");
    PorticoProcess host(dir, config.yaml());
    ASSERT_TRUE(host.wait_ready());

    EXPECT_TRUE(host.wait_for_log_line({"init_fails.so", "database connection string missing"}, 2s));
    EXPECT_TRUE(host.wait_for_log_line({"dup_handler.so", "same"}, 2s)) << "the duplicate handler's name is missing";
    TcpClient client(host.port("upper"));
    client.send("ok\n");
    EXPECT_EQ(client.read_line(), "OK\n");
}

} // namespace
} // namespace portico::test
