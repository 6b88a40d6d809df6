// events_config_test.cpp — `portico --check` on `mode: events` configs: the
// events block is accepted; a key that means nothing in mode events is an
// error naming its file:line:column and the key, and nothing starts.
#include "harness/ConfigBuilder.h"
#include "harness/Paths.h"
#include "harness/PluginDir.h"
#include "harness/PorticoCommand.h"
#include "harness/TempDir.h"

#include <gtest/gtest.h>

#include <regex>
#include <string>

namespace portico::test {
namespace {

// A config whose service (from line 4 on) ends with `last_line`, at line 8.
std::string config_ending_with(const TempDir &dir, const std::string &last_line) {
    return "plugins:\n  dir: " + yaml_quote(make_plugin_dir(dir, {shipped_plugin("upper")}).string()) + // 1-2
           "\nservices:\n"                                                                              // 3
           "  - name: upper\n"                                                                          // 4
           "    listen: 127.0.0.1:0\n"                                                                  // 5
           "    handler: upper.upper\n"                                                                 // 6
           "    mode: events\n" +                                                                       // 7
           last_line +
           "\n"; // 8
}

TEST(EventsConfig, CheckAcceptsTheEventsBlock) {
    TempDir dir;
    const auto path = dir.write_file("portico.yaml", config_ending_with(dir, "    events: {loops: 2, stack: 128KiB}\n"
                                                                             "    max_connections: 5000"));
    const CommandResult result = run_portico({"--config", path.string(), "--check"});
    EXPECT_EQ(result.status, ExitStatus::exited(0)) << result.output;
    EXPECT_NE(result.output.find("OK: "), std::string::npos) << result.output;
}

TEST(EventsConfig, CheckRefusesAThreadsBlockInModeEventsAndSaysWhere) {
    TempDir dir;
    const auto path = dir.write_file("portico.yaml", config_ending_with(dir, "    threads: {min: 1, max: 4}"));
    const CommandResult result = run_portico({"--config", path.string(), "--check"});
    EXPECT_EQ(result.status, ExitStatus::exited(2)) << result.output;
    std::smatch m;
    ASSERT_TRUE(std::regex_search(result.output, m, std::regex(R"(portico\.yaml:(\d+):(\d+): ([^\n]*))")))
        << "no file:line:column in: " << result.output;
    EXPECT_TRUE(m[1] == "8" || m[1] == "7") << "points at line " << m[1] << ", not at `threads:` (8) or `mode:` (7)";
    EXPECT_NE(m[3].str().find("threads"), std::string::npos) << "the message does not name the key: " << m[0];
    EXPECT_EQ(result.output.find("OK: "), std::string::npos) << result.output;
}

} // namespace
} // namespace portico::test
