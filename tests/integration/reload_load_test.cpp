// reload_load_test.cpp — hot reload of a stream plugin under load (issue 3):
// 32 churning connections while flip.so is replaced 20 times, alternating
// two builds whose replies differ. Nothing may fail, be cut short or be
// answered wrongly; every connection keeps the version it started with; and
// once the load stops, the old versions are really unloaded.
#include "harness/ConfigBuilder.h"
#include "harness/FlipPlugin.h"
#include "harness/LineLoad.h"
#include "harness/Paths.h"
#include "harness/PluginFiles.h"
#include "harness/PorticoProcess.h"
#include "harness/Slowdown.h"
#include "harness/TcpClient.h"
#include "harness/TempDir.h"

#include <gtest/gtest.h>

#include <csignal>
#include <filesystem>
#include <iostream>
#include <string>

namespace portico::test {
namespace {

namespace fs = std::filesystem;

// A host serving flip.so (FlipDir) as service "flip" with room for the
// load's connections.
struct FlipHost : FlipDir {
    ConfigBuilder config;

    explicit FlipHost(const std::string &watch = "true") {
        config.plugin_dir(plugins).plugins_option("watch", watch).plugins_option("drain_timeout", "3s");
        config.service("flip", "flip.reply").threads(8, 96).option("max_queued", "256");
    }
};

TEST(ReloadUnderLoad, TwentySwapsUnderChurnDropNothingMixNothingAndUnloadOldVersions) {
    FlipHost setup;
    PorticoProcess host(setup.dir, setup.config.yaml());
    ASSERT_TRUE(host.wait_ready());
    const auto port = host.port("flip");
    ASSERT_EQ(ask(port, "hello"), "A hello\n");

    LineLoadSpec spec;
    spec.port = port;
    spec.connections = 32;
    spec.min_round_trips = 1;
    spec.max_round_trips = 25;
    spec.prefixes = {"A ", "B "};
    spec.timeout = scaled<Millis>(5s, 15s);
    LineLoad load(spec);
    ASSERT_TRUE(wait_until([&] { return load.round_trips() >= 200; }, scaled<Millis>(10s, 30s)));

    // Each swap waits for the host to say it landed, then for the load to
    // make progress on the new version before the next one.
    constexpr int kSwaps = 20;
    int landed = 0;
    for (int swap = 1; swap <= kSwaps; ++swap) {
        const bool to_b = swap % 2 == 1;
        const std::string now_uses = std::string("service 'flip' now uses flip ") + (to_b ? "B" : "A");
        const auto before = host.count_log_lines({now_uses});
        replace_by_rename(test_plugin(to_b ? "flip_b" : "flip_a"), setup.installed);
        // SIGHUP races the file watcher for some swaps: whichever comes
        // second must find the file already loaded and change nothing.
        if (swap % 5 == 0) host.send_signal(SIGHUP);
        if (wait_until([&] { return host.count_log_lines({now_uses}) > before; }, scaled<Millis>(5s, 15s), 10ms))
            ++landed;
        const auto progress = load.round_trips() + 150;
        wait_until([&] { return load.round_trips() >= progress; }, scaled<Millis>(5s, 15s));
    }
    const LineLoadResult result = load.stop();
    SCOPED_TRACE(result.summary());

    EXPECT_EQ(landed, kSwaps) << "not every swap was applied";
    EXPECT_EQ(result.failed_connects, 0u);
    EXPECT_EQ(result.failed, 0u);
    EXPECT_EQ(result.truncated, 0u);
    EXPECT_EQ(result.mismatched, 0u);
    EXPECT_EQ(result.mixed, 0u) << "a connection was answered by two versions";
    EXPECT_GT(result.by_prefix[0], 0u) << "no reply came from version A";
    EXPECT_GT(result.by_prefix[1], 0u) << "no reply came from version B";
    EXPECT_GT(result.connections, 200u) << "too little churn to mean anything";
    // The last SIGHUP may still be on its way when the swap it raced landed.
    EXPECT_TRUE(wait_until([&] { return host.count_log_lines({"SIGHUP: reloading"}) >= 4; }, scaled<Millis>(5s, 15s)));
    EXPECT_EQ(host.count_log_lines({"SIGHUP: reloading"}), 4u);

    // Twenty swaps end on A.
    EXPECT_EQ(ask(port, "after"), "A after\n");
    // SIGHUPs are handled one after another: the fifth one's "config
    // unchanged" proves the fourth reload is over, refusals included.
    host.send_signal(SIGHUP);
    EXPECT_TRUE(wait_until([&] { return host.count_log_lines({"config unchanged"}) >= 5; }, scaled<Millis>(5s, 15s)))
        << host.log_text();
    EXPECT_TRUE(lines_containing(host.log_text(), {"reload refused"}).empty());

    // With the load gone, every replaced version is unloaded (at the latest
    // at drain_timeout): one flip copy stays mapped, the current one.
    EXPECT_EQ(wait_one_shadow_copy(host.pid(), "flip", scaled<Millis>(10s, 30s)), "")
        << "flip shadow copies still mapped";
    EXPECT_TRUE(lines_containing(host.log_text(), {"still mapped after dlclose"}).empty());
}

TEST(ReloadUnderLoad, AFileRenamedIntoPlaceServesWithin500ms) {
    FlipHost setup;
    PorticoProcess host(setup.dir, setup.config.yaml());
    ASSERT_TRUE(host.wait_ready());
    const auto port = host.port("flip");
    ASSERT_EQ(ask(port, "hello"), "A hello\n");

    const Millis limit = scaled<Millis>(500ms, 1500ms);
    for (int round = 1; round <= 4; ++round) {
        const bool to_b = round % 2 == 1;
        const std::string expected = std::string(to_b ? "B" : "A") + " probe\n";
        const auto renamed = replace_by_rename(test_plugin(to_b ? "flip_b" : "flip_a"), setup.installed);
        const bool serving = wait_until([&] { return ask(port, "probe") == expected; }, 5s, 2ms);
        const auto took = std::chrono::duration_cast<Millis>(std::chrono::steady_clock::now() - renamed);
        ASSERT_TRUE(serving) << "round " << round << ": the new file never served";
        EXPECT_LT(took, limit) << "round " << round << ": from rename to the first reply took " << took.count()
                               << " ms";
        std::cout << "round " << round << ": rename to first reply from the new version: " << took.count() << " ms\n";
    }
}

TEST(ReloadUnderLoad, SighupLoadsAReplacedFileWhenWatchingIsOff) {
    FlipHost setup("false");
    PorticoProcess host(setup.dir, setup.config.yaml());
    ASSERT_TRUE(host.wait_ready());
    const auto port = host.port("flip");
    ASSERT_EQ(ask(port, "hello"), "A hello\n");

    replace_by_rename(test_plugin("flip_b"), setup.installed);
    // Nothing watches the folder: the file waits for SIGHUP.
    EXPECT_FALSE(wait_until([&] { return ask(port, "x") == "B x\n"; }, 500ms, 20ms));
    host.send_signal(SIGHUP);
    EXPECT_TRUE(wait_until([&] { return ask(port, "x") == "B x\n"; }, scaled<Millis>(3s, 10s), 5ms));
    // The swap serves before its log line is written.
    EXPECT_TRUE(host.wait_for_log("service 'flip' now uses flip B", 5s));
    EXPECT_EQ(host.count_log_lines({"service 'flip' now uses flip B"}), 1u);
}

} // namespace
} // namespace portico::test
