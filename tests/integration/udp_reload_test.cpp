// udp_reload_test.cpp — hot reload of a datagram plugin while datagrams flow:
// every datagram is answered whole by one version or the other (each pins
// the version current when it arrives), none is lost or answered wrongly,
// and both versions are seen.
#include "harness/ConfigBuilder.h"
#include "harness/Paths.h"
#include "harness/PluginDir.h"
#include "harness/PorticoProcess.h"
#include "harness/Slowdown.h"
#include "harness/TempDir.h"
#include "harness/UdpClient.h"
#include "harness/UdpLoad.h"

#include <gtest/gtest.h>

#include <atomic>
#include <csignal>
#include <filesystem>
#include <fstream>
#include <thread>
#include <vector>

namespace portico::test {
namespace {

namespace fs = std::filesystem;

// Replaces `target` the way a deploy should: write a temp file in the same
// folder, then rename over, so the host never sees a half-written file.
void replace_atomically(const fs::path &source, const fs::path &target) {
    const fs::path temp = target.parent_path() / (".incoming-" + target.filename().string() + ".tmp");
    fs::copy_file(source, temp, fs::copy_options::overwrite_existing);
    fs::rename(temp, target);
}

TEST(UdpReload, SwappingVersionsUnderLoadGivesNoWrongOrMissingReply) {
    TempDir dir;
    const fs::path plugins = dir.subdir("plugins");
    const fs::path installed = plugins / "udpver.so";
    fs::copy_file(test_plugin("udp_version_a"), installed);

    ConfigBuilder config;
    config.plugin_dir(plugins);
    config.service("ver", "udpver.reply").option("protocol", "udp").threads(2, 8).option("max_queued", "1024");
    PorticoProcess host(dir, config.yaml());
    ASSERT_TRUE(host.wait_ready());
    const auto port = host.port("ver");

    UdpClient probe(port);
    ASSERT_EQ(probe.request("x"), "A:x");

    constexpr int kClients = 4;
    std::vector<UdpLoadResult> results(kClients);
    std::vector<std::thread> threads;
    for (int i = 0; i < kClients; ++i) {
        threads.emplace_back([&, i] {
            UdpClient client(port);
            UdpLoadSpec spec;
            spec.tag = "client" + std::to_string(i);
            spec.datagrams = 6000;
            spec.per_second = 2000; // ~3 s of traffic
            results[i] = run_udp_load(client, spec, [](const std::string &p) {
                return std::vector<std::string>{"A:" + p, "B:" + p};
            });
        });
    }

    // Swap A → B → A → … while the clients stream, waiting for each swap to
    // land. Each swap loads once, whether SIGHUP or the file watcher sees it first.
    constexpr int kSwaps = 6;
    int swaps_done = 0;
    for (int swap = 1; swap <= kSwaps; ++swap) {
        std::this_thread::sleep_for(300ms);
        const std::string version = swap % 2 == 1 ? "B" : "A";
        replace_atomically(test_plugin(version == "B" ? "udp_version_b" : "udp_version_a"), installed);
        host.send_signal(SIGHUP);
        const bool landed = wait_until(
            [&] {
                const auto lines = lines_containing(host.log_text(), {"service 'ver' now uses udpver"});
                return lines.size() >= static_cast<std::size_t>(swap) &&
                       lines.back().find("now uses udpver " + version + " ") != std::string::npos;
            },
            scaled<Millis>(5s, 15s), 10ms);
        if (landed) ++swaps_done;
    }
    for (auto &thread : threads)
        thread.join();

    EXPECT_EQ(swaps_done, kSwaps) << host.log_text();
    std::size_t from_a = 0;
    std::size_t from_b = 0;
    for (int i = 0; i < kClients; ++i) {
        const UdpLoadResult &r = results[i];
        SCOPED_TRACE("client " + std::to_string(i) + ": " + r.summary());
        EXPECT_EQ(r.sent, 6000u);
        EXPECT_EQ(r.wrong, 0u);
        EXPECT_EQ(r.missing(), 0u);
        EXPECT_EQ(r.duplicates, 0u);
        from_a += r.by_form.size() > 0 ? r.by_form[0] : 0;
        from_b += r.by_form.size() > 1 ? r.by_form[1] : 0;
    }
    EXPECT_GT(from_a, 0u) << "no reply came from version A";
    EXPECT_GT(from_b, 0u) << "no reply came from version B";

    // Six swaps end on A, and the service answers with it.
    EXPECT_EQ(probe.request("y"), "A:y");
    EXPECT_TRUE(lines_containing(host.log_text(), {"reload refused"}).empty()) << host.log_text();
}

// A config reload that changes a UDP service's settings but not its address
// hands the socket to the new service: no datagram is lost across the swap.
TEST(UdpReload, ChangingAServiceKeepsItsSocketAndLosesNothing) {
    TempDir dir;
    const auto make_config = [&](int max_threads) {
        ConfigBuilder config;
        config.plugin_dir(make_plugin_dir(dir, {shipped_plugin("udp_echo")}));
        config.service("echo", "udp_echo")
            .option("protocol", "udp")
            .threads(1, max_threads)
            .option("max_queued", "1024");
        return config.yaml();
    };
    PorticoProcess host(dir, make_config(2));
    ASSERT_TRUE(host.wait_ready());
    const auto port = host.port("echo");

    constexpr int kClients = 2;
    std::vector<UdpLoadResult> results(kClients);
    std::vector<std::thread> threads;
    for (int i = 0; i < kClients; ++i) {
        threads.emplace_back([&, i] {
            UdpClient client(port);
            UdpLoadSpec spec;
            spec.tag = "client" + std::to_string(i);
            spec.datagrams = 3000;
            results[i] = run_udp_load(client, spec, [](const std::string &p) { return std::vector{p}; });
        });
    }
    std::this_thread::sleep_for(400ms);
    std::ofstream(host.config_path()) << make_config(6);
    host.send_signal(SIGHUP);
    const bool changed = host.wait_for_log("service 'echo' changed", 5s);
    for (auto &thread : threads)
        thread.join();

    EXPECT_TRUE(changed) << host.log_text();
    for (int i = 0; i < kClients; ++i) {
        SCOPED_TRACE("client " + std::to_string(i) + ": " + results[i].summary());
        EXPECT_EQ(results[i].missing(), 0u);
        EXPECT_EQ(results[i].wrong, 0u);
    }
    UdpClient after(port);
    EXPECT_EQ(after.request("after"), "after");
}

} // namespace
} // namespace portico::test
