// counter_handoff_test.cpp — the shipped counter plugin keeps its counters
// across its own hot reload (state hand-off): a newer build dropped over
// counter.so answers with the values the old one had counted.
#include "harness/ConfigBuilder.h"
#include "harness/Paths.h"
#include "harness/PluginFiles.h"
#include "harness/PorticoProcess.h"
#include "harness/Slowdown.h"
#include "harness/TcpClient.h"
#include "harness/TempDir.h"

#include <gtest/gtest.h>

#include <filesystem>
#include <string>

namespace portico::test {
namespace {

namespace fs = std::filesystem;

// Sends each command on one fresh connection; returns the replies, joined.
std::string session(std::uint16_t port, std::initializer_list<std::string> commands) {
    TcpClient client(port);
    std::string replies;
    for (const auto &command : commands) {
        client.send(command + "\n");
        replies += client.read_line().value_or("<closed>\n");
    }
    return replies;
}

TEST(CounterHandoff, CountersSurviveAHotReloadToANewBuildAndBack) {
    TempDir dir;
    const fs::path plugins = dir.subdir("plugins");
    const fs::path installed = plugins / "counter.so";
    fs::copy_file(shipped_plugin("counter"), installed);
    ConfigBuilder config;
    config.plugin_dir(plugins);
    config.service("counter", "counter.counter").threads(2, 8);
    PorticoProcess host(dir, config.yaml());
    ASSERT_TRUE(host.wait_ready());
    const auto port = host.port("counter");

    EXPECT_EQ(session(port, {"version", "incr hits", "incr hits", "incr", "get nobody"}), "counter 1.0.0\n1\n2\n1\n0\n");
    EXPECT_EQ(session(port, {"incr hits", "incr misses", "incr misses"}), "3\n1\n2\n");
    EXPECT_EQ(session(port, {"dump"}), "default=1 hits=3 misses=2\n");

    // A connection open across the reload stays on the version it started with.
    TcpClient pinned(port);
    pinned.send("version\n");
    ASSERT_EQ(pinned.read_line(), "counter 1.0.0\n");

    replace_by_rename(test_plugin("counter_next"), installed);
    ASSERT_TRUE(host.wait_for_log("service 'counter' now uses counter 1.0.1-next", scaled<Millis>(5s, 15s)));
    EXPECT_EQ(session(port, {"version", "get hits", "get misses", "get", "dump"}),
              "counter 1.0.1-next\n3\n2\n1\ndefault=1 hits=3 misses=2\n");
    EXPECT_EQ(session(port, {"incr hits"}), "4\n");
    pinned.send("version\n");
    EXPECT_EQ(pinned.read_line(), "counter 1.0.0\n");
    pinned.close();

    // And back to the shipped build: the count made on 1.0.1-next comes along.
    replace_by_rename(shipped_plugin("counter"), installed);
    ASSERT_TRUE(host.wait_for_log("service 'counter' now uses counter 1.0.0", scaled<Millis>(5s, 15s)));
    EXPECT_EQ(session(port, {"version", "dump", "incr hits"}), "counter 1.0.0\ndefault=1 hits=4 misses=2\n5\n");
    EXPECT_TRUE(lines_containing(host.log_text(), {"state_"}).empty()) << "a hand-off step failed";
}

TEST(CounterHandoff, UnknownCommandsAreAnsweredWithUsage) {
    TempDir dir;
    ConfigBuilder config;
    config.plugin_dir(dir.subdir("plugins"));
    dir.copy_in(shipped_plugin("counter"), "plugins/counter.so");
    config.service("counter", "counter.counter").threads(1, 2);
    PorticoProcess host(dir, config.yaml());
    ASSERT_TRUE(host.wait_ready());
    EXPECT_EQ(session(host.port("counter"), {"reset"}),
              "error: unknown command 'reset' (use incr [name], get [name], dump, version)\n");
}

} // namespace
} // namespace portico::test
