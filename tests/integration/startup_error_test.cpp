// startup_error_test.cpp — configs the host must refuse before serving
// anything: exit code 2 and a message that says what and where.
#include "harness/ConfigBuilder.h"
#include "harness/Paths.h"
#include "harness/PluginDir.h"
#include "harness/PorticoProcess.h"
#include "harness/TempDir.h"

#include <gtest/gtest.h>

#include <regex>

namespace portico::test {
namespace {

std::string plugins_block(const TempDir &dir) {
    return "plugins:\n  dir: " + yaml_quote(make_plugin_dir(dir, {shipped_plugin("upper")}).string()) + "\n";
}

TEST(StartupError, ServiceWithAHandlerNoPluginProvidesExitsWith2) {
    for (const std::string handler : {"upper.shout", "nosuch.handler"}) {
        SCOPED_TRACE("handler " + handler);
        TempDir dir;
        ConfigBuilder config;
        config.plugin_dir(make_plugin_dir(dir, {shipped_plugin("upper")}));
        config.service("loud", handler);
        PorticoProcess host(dir, config.yaml());
        EXPECT_EQ(host.wait_exit(10s), ExitStatus::exited(2));
        EXPECT_NE(host.log_text().find(handler), std::string::npos) << "the message does not name " << handler;
        EXPECT_EQ(host.log_text().find("portico ready"), std::string::npos);
    }
}

TEST(StartupError, UnknownKeyExitsWith2AndPointsAtIt) {
    TempDir dir;
    const std::string yaml = plugins_block(dir) + // lines 1-2
                             "services:\n"        // 3
                             "  - name: upper\n"  // 4
                             "    listen: 127.0.0.1:0\n"
                             "    handler: upper.upper\n"
                             "    colour: blue\n"; // line 7, column 5
    PorticoProcess host(dir, yaml);
    EXPECT_EQ(host.wait_exit(10s), ExitStatus::exited(2));
    const std::string log = host.log_text();
    EXPECT_NE(log.find("portico.yaml:7:5"), std::string::npos) << "expected file:line:column of 'colour'";
    EXPECT_NE(log.find("colour"), std::string::npos);
}

TEST(StartupError, InvalidYamlExitsWith2WithFileLineColumn) {
    TempDir dir;
    const std::string yaml = plugins_block(dir) + "services:\n  - name: [upper\n    handler: upper.upper\n";
    PorticoProcess host(dir, yaml);
    EXPECT_EQ(host.wait_exit(10s), ExitStatus::exited(2));
    EXPECT_TRUE(std::regex_search(host.log_text(), std::regex(R"(portico\.yaml:[0-9]+:[0-9]+)")))
        << "expected portico.yaml:LINE:COLUMN in the message";
}

TEST(StartupError, WrongTypeExitsWith2AndPointsAtTheValue) {
    TempDir dir;
    const std::string yaml = plugins_block(dir) + // lines 1-2
                             "services:\n"        // 3
                             "  - name: upper\n"  // 4
                             "    listen: 127.0.0.1:0\n"
                             "    handler: upper.upper\n"
                             "    threads: {min: lots, max: 4}\n"; // line 7
    PorticoProcess host(dir, yaml);
    EXPECT_EQ(host.wait_exit(10s), ExitStatus::exited(2));
    EXPECT_TRUE(std::regex_search(host.log_text(), std::regex(R"(portico\.yaml:7:[0-9]+)")))
        << "expected portico.yaml:7:COLUMN in the message";
}

} // namespace
} // namespace portico::test
