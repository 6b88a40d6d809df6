// reverse_c_test.cpp — the plugin written in plain C against portico.h alone
// serves like any other: per-service state, settings, line I/O.
#include "harness/ConfigBuilder.h"
#include "harness/Paths.h"
#include "harness/PluginDir.h"
#include "harness/PorticoProcess.h"
#include "harness/TcpClient.h"
#include "harness/TempDir.h"

#include <gtest/gtest.h>

namespace portico::test {
namespace {

TEST(ReverseC, AnswersLinesReversedAndCountsConnectionsPerService) {
    TempDir dir;
    ConfigBuilder config;
    config.plugin_dir(make_plugin_dir(dir, {shipped_plugin("reverse_c")}));
    config.service("rev", "reverse_c.reverse").setting("greeting", "olleh");
    config.service("plain", "reverse_c.reverse");
    PorticoProcess host(dir, config.yaml());
    ASSERT_TRUE(host.wait_ready());

    TcpClient first(host.port("rev"));
    EXPECT_EQ(first.read_line(), "olleh (connection 1)\n");
    first.send("Hello, Server!\r\nabc\n\n");
    EXPECT_EQ(first.read_line(), "!revreS ,olleH\n");
    EXPECT_EQ(first.read_line(), "cba\n");
    EXPECT_EQ(first.read_line(), "\n");

    TcpClient second(host.port("rev"));
    EXPECT_EQ(second.read_line(), "olleh (connection 2)\n") << "state is shared by a service's connections";

    TcpClient plain(host.port("plain"));
    plain.send("xyz");
    plain.shutdown_write();
    EXPECT_EQ(plain.read_until_eof(), "zyx\n") << "no greeting without the setting; a last line without '\\n'";
}

} // namespace
} // namespace portico::test
