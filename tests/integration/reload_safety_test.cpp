// reload_safety_test.cpp — reloads that must not hurt (issue 3): a broken
// plugin file or a broken config leaves the old one serving; a file still
// being written is never loaded; services added, removed and changed by
// SIGHUP leave everyone else's connections alone.
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

#include <atomic>
#include <cerrno>
#include <csignal>
#include <filesystem>
#include <regex>
#include <string>
#include <thread>
#include <vector>

namespace portico::test {
namespace {

namespace fs = std::filesystem;

TEST(ReloadSafety, TruncatedOrGarbagePluginFileLeavesTheOldVersionServing) {
    FlipDir setup;
    ConfigBuilder config;
    config.plugin_dir(setup.plugins);
    config.service("flip", "flip.reply").threads(1, 4);
    PorticoProcess host(setup.dir, config.yaml());
    ASSERT_TRUE(host.wait_ready());
    const auto port = host.port("flip");
    ASSERT_EQ(ask(port, "x"), "A x\n");
    // A connection open across the bad reloads keeps working too.
    TcpClient steady(port);
    steady.send("1\n");
    ASSERT_EQ(steady.read_line(), "A 1\n");

    const std::string flip_b = read_bytes(test_plugin("flip_b"));
    overwrite_in_place(setup.installed, flip_b.substr(0, flip_b.size() / 2));
    const auto truncated = host.wait_for_log_line(
        {"plugin reload refused", setup.installed.string(), "truncated ELF file"}, scaled<Millis>(5s, 15s));
    ASSERT_TRUE(truncated) << "the truncated file's refusal was not logged with file and reason";
    EXPECT_EQ(ask(port, "y"), "A y\n");

    overwrite_in_place(setup.installed, std::string(4096, 'z'));
    const auto garbage = host.wait_for_log_line(
        {"plugin reload refused", setup.installed.string(), "is not an ELF shared object"}, scaled<Millis>(5s, 15s));
    ASSERT_TRUE(garbage) << "the garbage file's refusal was not logged with file and reason";
    EXPECT_EQ(ask(port, "z"), "A z\n");

    // SIGHUP looks at the garbage again, refuses it again, and A still serves.
    const auto refusals = host.count_log_lines({"plugin reload refused", "is not an ELF shared object"});
    host.send_signal(SIGHUP);
    EXPECT_TRUE(wait_until(
        [&] {
            return host.count_log_lines({"plugin reload refused", "is not an ELF shared object"}) > refusals;
        },
        scaled<Millis>(5s, 15s)));
    EXPECT_EQ(ask(port, "w"), "A w\n");
    steady.send("2\n");
    EXPECT_EQ(steady.read_line(), "A 2\n");

    // A good file after the bad ones loads as usual.
    replace_by_rename(test_plugin("flip_b"), setup.installed);
    EXPECT_TRUE(wait_until([&] { return ask(port, "v") == "B v\n"; }, scaled<Millis>(5s, 15s), 10ms));
    // The swap serves before its log line is written.
    EXPECT_TRUE(host.wait_for_log("service 'flip' now uses flip B", 5s));
    EXPECT_EQ(host.count_log_lines({"service 'flip' now uses flip B"}), 1u);
}

// The right behaviour for a file copied in slowly (cp over a slow disk or
// network): the host waits for the writer to close it, so it never even
// tries the half-written file — no refusal is logged, A serves throughout —
// and the complete file is loaded once it is closed.
TEST(ReloadSafety, APluginFileWrittenSlowlyIsLoadedOnlyWhenComplete) {
    FlipDir setup;
    ConfigBuilder config;
    config.plugin_dir(setup.plugins);
    config.service("flip", "flip.reply").threads(1, 4);
    PorticoProcess host(setup.dir, config.yaml());
    ASSERT_TRUE(host.wait_ready());
    const auto port = host.port("flip");
    ASSERT_EQ(ask(port, "x"), "A x\n");

    std::atomic<bool> writing{true};
    std::atomic<int> answered_by_a{0};
    std::vector<std::string> unexpected;
    std::thread prober([&] {
        while (writing) {
            const std::string reply = ask(port, "p");
            if (reply == "A p\n")
                ++answered_by_a;
            else if (unexpected.size() < 5)
                unexpected.push_back(reply);
            std::this_thread::sleep_for(20ms);
        }
    });
    // Eight chunks, 150 ms apart: each pause is longer than the watcher's
    // settle time, so only waiting for the close keeps it from loading.
    overwrite_slowly(test_plugin("flip_b"), setup.installed, 8, 150ms);
    writing = false;
    prober.join();

    EXPECT_TRUE(unexpected.empty()) << "while the file was written: \"" << unexpected.front() << "\"";
    EXPECT_GT(answered_by_a.load(), 10);
    EXPECT_TRUE(wait_until([&] { return ask(port, "y") == "B y\n"; }, scaled<Millis>(5s, 15s), 10ms))
        << "the complete file was not loaded";
    // B serves a moment before its load is logged. The watcher tries files
    // one at a time, so once the load of the complete file is logged, any
    // attempt on the half-written one would have been logged before it.
    EXPECT_TRUE(host.wait_for_log("loaded plugin 'flip' B", 5s)) << host.log_text();
    EXPECT_EQ(host.count_log_lines({"reload refused"}), 0u) << "the half-written file was tried";
    EXPECT_EQ(host.count_log_lines({"loaded plugin 'flip' B"}), 1u);
}

TEST(ReloadSafety, InvalidYamlOnSighupKeepsTheOldConfigAndSaysWhere) {
    FlipDir setup;
    ConfigBuilder config;
    config.plugin_dir(setup.plugins);
    config.service("flip", "flip.reply").threads(1, 4);
    PorticoProcess host(setup.dir, config.yaml());
    ASSERT_TRUE(host.wait_ready());
    const auto port = host.port("flip");
    ASSERT_EQ(ask(port, "x"), "A x\n");
    const std::string path = host.config_path().string();

    // A syntax error: an unclosed flow sequence on line 4.
    host.rewrite_config("plugins:\n  dir: " + yaml_quote(setup.plugins.string()) +
                        "\nservices:\n  - name: [flip\n    listen: 127.0.0.1:0\n");
    host.send_signal(SIGHUP);
    const auto syntax = host.wait_for_log(
        std::regex(std::regex_replace(path, std::regex(R"([.^$|()\[\]{}*+?\\])"), R"(\$&)") + R"(:(\d+):(\d+): )"),
        scaled<Millis>(5s, 15s));
    ASSERT_TRUE(syntax) << "no file:line:col for the YAML error";
    EXPECT_TRUE(host.wait_for_log_line({path, "config not reloaded; the previous config keeps running"}, 5s));
    EXPECT_EQ(ask(port, "y"), "A y\n");

    // Valid YAML, wrong config: an unknown key, reported at its position.
    ConfigBuilder typo;
    typo.plugin_dir(setup.plugins);
    typo.service("flip", "flip.reply").threads(1, 4).option("max_conections", "5");
    host.rewrite_config(typo.yaml());
    const auto before = host.count_log_lines({"config not reloaded"});
    host.send_signal(SIGHUP);
    EXPECT_TRUE(wait_until([&] { return host.count_log_lines({"config not reloaded"}) > before; }, 5s));
    EXPECT_EQ(host.count_log_lines({path + ":", "max_conections"}), 1u) << "the unknown key was not reported";
    EXPECT_EQ(ask(port, "z"), "A z\n");
    EXPECT_EQ(host.port("flip"), port);

    // A good config afterwards is applied.
    ConfigBuilder good;
    good.plugin_dir(setup.plugins);
    good.service("flip", "flip.reply").threads(1, 4);
    good.service("second", "flip.reply").threads(1, 4);
    host.rewrite_config(good.yaml());
    host.send_signal(SIGHUP);
    ASSERT_TRUE(host.wait_for_log("service 'second' listening on", scaled<Millis>(5s, 15s)));
    EXPECT_EQ(ask(host.port("second"), "w"), "A w\n");
    EXPECT_EQ(ask(port, "v"), "A v\n");
}

TEST(ReloadSafety, SighupAddsAndRemovesServicesWhileAThirdKeepsItsClients) {
    FlipDir setup;
    fs::copy_file(shipped_plugin("upper"), setup.plugins / "upper.so");
    auto make_config = [&](bool after) {
        ConfigBuilder config;
        config.plugin_dir(setup.plugins).plugins_option("drain_timeout", "20s");
        config.service("keep", "flip.reply").threads(4, 16);
        if (!after) config.service("gone", "flip.reply").threads(1, 4);
        if (after) config.service("added", "upper.upper").threads(1, 4);
        return config.yaml();
    };
    PorticoProcess host(setup.dir, make_config(false));
    ASSERT_TRUE(host.wait_ready());
    const auto keep = host.port("keep");
    const auto gone = host.port("gone");
    ASSERT_EQ(ask(gone, "g"), "A g\n");

    // Clients of "keep" hold their connections across the reload, doing
    // round trips all the while; a client of "gone" is open when it goes.
    LineLoadSpec spec;
    spec.port = keep;
    spec.connections = 6;
    spec.min_round_trips = spec.max_round_trips = 1'000'000'000; // never reconnect
    spec.prefixes = {"A "};
    LineLoad load(spec);
    TcpClient gone_client(gone);
    gone_client.send("before\n");
    ASSERT_EQ(gone_client.read_line(), "A before\n");
    ASSERT_TRUE(wait_until([&] { return load.round_trips() >= 100; }, scaled<Millis>(5s, 15s)));

    host.rewrite_config(make_config(true));
    host.send_signal(SIGHUP);
    ASSERT_TRUE(host.wait_for_log("service 'added' listening on", scaled<Millis>(5s, 15s)));
    ASSERT_TRUE(host.wait_for_log("service 'gone' removed", 5s));
    const auto added = host.port("added");
    EXPECT_EQ(ask(added, "hi"), "HI\n");
    // The removed service takes no new connection…
    EXPECT_TRUE(wait_until([&] { return TcpClient::probe_connect(gone, 200ms) == ECONNREFUSED; }, 5s));
    // …but the one it had drains: it is served until it leaves.
    gone_client.send("after\n");
    EXPECT_EQ(gone_client.read_line(), "A after\n");
    gone_client.close();

    const auto progress = load.round_trips() + 200;
    EXPECT_TRUE(wait_until([&] { return load.round_trips() >= progress; }, scaled<Millis>(5s, 15s)));
    const LineLoadResult result = load.stop();
    SCOPED_TRACE(result.summary());
    EXPECT_EQ(result.errors(), 0u);
    EXPECT_EQ(result.connections, 6u) << "a client of 'keep' lost its connection";
    EXPECT_EQ(host.port("keep"), keep);
    EXPECT_TRUE(host.wait_for_log("service 'gone' (retired) has drained", 5s));
}

// A service whose settings change (same address) is replaced by a new one
// that takes over the listening socket: a client connecting over and over
// across the reloads is never refused, reset or left unanswered.
TEST(ReloadSafety, AChangedServiceKeepsAcceptingAcrossSighup) {
    FlipDir setup;
    auto make_config = [&](const std::string &max_line) {
        ConfigBuilder config;
        config.plugin_dir(setup.plugins);
        config.service("flip", "flip.reply").threads(2, 16).option("max_line", max_line);
        return config.yaml();
    };
    PorticoProcess host(setup.dir, make_config("1KiB"));
    ASSERT_TRUE(host.wait_ready());
    const auto port = host.port("flip");

    LineLoadSpec spec;
    spec.port = port;
    spec.connections = 4;
    spec.min_round_trips = 1;
    spec.max_round_trips = 3;
    spec.prefixes = {"A "};
    spec.timeout = scaled<Millis>(5s, 15s);
    LineLoad load(spec);
    ASSERT_TRUE(wait_until([&] { return load.round_trips() >= 100; }, scaled<Millis>(5s, 15s)));

    constexpr int kReloads = 6;
    for (int i = 1; i <= kReloads; ++i) {
        const auto before = host.count_log_lines({"service 'flip' changed"});
        host.rewrite_config(make_config(i % 2 == 1 ? "8KiB" : "2KiB"));
        host.send_signal(SIGHUP);
        ASSERT_TRUE(wait_until([&] { return host.count_log_lines({"service 'flip' changed"}) > before; },
                               scaled<Millis>(5s, 15s)));
        const auto progress = load.round_trips() + 100;
        wait_until([&] { return load.round_trips() >= progress; }, scaled<Millis>(5s, 15s));
    }
    const LineLoadResult result = load.stop();
    SCOPED_TRACE(result.summary());
    EXPECT_EQ(result.errors(), 0u);
    EXPECT_GT(result.connections, 300u);

    // Same port, and the new limit is in force: 2KiB now, so a 3000-byte
    // line is refused where 1500 bytes pass.
    EXPECT_EQ(host.port("flip"), port);
    const std::string mid(1500, 'm');
    EXPECT_EQ(ask(port, mid), "A " + mid + "\n");
    EXPECT_EQ(ask(port, std::string(3000, 'l')), "");
}

} // namespace
} // namespace portico::test
