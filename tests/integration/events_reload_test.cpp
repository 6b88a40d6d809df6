// events_reload_test.cpp — hot reload with `mode: events`: a replaced plugin
// serves new connections while open ones finish on the version they began
// with, under churn; and a SIGHUP that moves a service from mode threads to
// mode events and back on the same address hands the listening socket over,
// refusing no one, while open connections finish on the service they began on;
// a connection still waiting for its PROXY header keeps a replaced service
// from counting as drained.
#include "harness/ConfigBuilder.h"
#include "harness/FlipPlugin.h"
#include "harness/LineLoad.h"
#include "harness/Paths.h"
#include "harness/PluginFiles.h"
#include "harness/PorticoProcess.h"
#include "harness/Slowdown.h"
#include "harness/TcpClient.h"
#include "harness/TempDir.h"
#include "harness/Threadname.h"

#include <gtest/gtest.h>

#include <csignal>
#include <filesystem>
#include <string>
#include <thread>
#include <vector>

namespace portico::test {
namespace {

namespace fs = std::filesystem;

TEST(EventsReload, AReplacedPluginServesNewConnectionsWhileOpenOnesFinishOnTheOld) {
    FlipDir setup;
    ConfigBuilder config;
    config.plugin_dir(setup.plugins).plugins_option("drain_timeout", "60s"); // old_session must outlive the test
    config.service("flip", "flip.reply").events(1);
    PorticoProcess host(setup.dir, config.yaml());
    ASSERT_TRUE(host.wait_ready());
    const auto port = host.port("flip");

    TcpClient old_session(port);
    old_session.send("1\n");
    ASSERT_EQ(old_session.read_line(), "A 1\n");

    replace_by_rename(test_plugin("flip_b"), setup.installed);
    ASSERT_TRUE(host.wait_for_log("service 'flip' now uses flip B", scaled<Millis>(5s, 15s)));
    EXPECT_EQ(ask(port, "new"), "B new\n");
    old_session.send("2\n");
    EXPECT_EQ(old_session.read_line(), "A 2\n") << "an open connection moved to the new version";

    // Churn on the one loop while the file flips five more times: nothing
    // fails, and no connection is answered by two versions.
    LineLoadSpec spec;
    spec.port = port;
    spec.connections = 8;
    spec.min_round_trips = 1;
    spec.max_round_trips = 10;
    spec.prefixes = {"A ", "B "};
    spec.timeout = scaled<Millis>(5s, 15s);
    LineLoad load(spec);
    ASSERT_TRUE(wait_until([&] { return load.round_trips() >= 100; }, scaled<Millis>(5s, 15s)));
    int landed = 0;
    for (int swap = 1; swap <= 5; ++swap) {
        const bool to_a = swap % 2 == 1;
        const std::string now_uses = std::string("service 'flip' now uses flip ") + (to_a ? "A" : "B");
        const auto before = host.count_log_lines({now_uses});
        replace_by_rename(test_plugin(to_a ? "flip_a" : "flip_b"), setup.installed);
        if (wait_until([&] { return host.count_log_lines({now_uses}) > before; }, scaled<Millis>(5s, 15s), 10ms))
            ++landed;
        const auto progress = load.round_trips() + 100;
        wait_until([&] { return load.round_trips() >= progress; }, scaled<Millis>(5s, 15s));
    }
    const LineLoadResult result = load.stop();
    SCOPED_TRACE(result.summary());
    EXPECT_EQ(landed, 5) << "not every swap was applied";
    EXPECT_EQ(result.errors(), 0u);
    EXPECT_EQ(result.mixed, 0u) << "a connection was answered by two versions";
    EXPECT_GT(result.by_prefix[0], 0u);
    EXPECT_GT(result.by_prefix[1], 0u);
    EXPECT_GT(result.connections, 50u) << "too little churn to mean anything";

    // The first session is still on the first build, through every swap.
    old_session.send("3\n");
    EXPECT_EQ(old_session.read_line(), "A 3\n");
    old_session.close();

    // With every old session gone, the replaced versions are unloaded: one
    // flip copy stays mapped, the current one.
    EXPECT_EQ(wait_one_shadow_copy(host.pid(), "flip", scaled<Millis>(10s, 30s)), "")
        << "flip shadow copies still mapped";
}

// A session still on a replaced version at drain_timeout is closed by the
// host, its handler woken in the read it waits in, and that version unloaded.
TEST(EventsReload, SessionsOnAReplacedVersionAreClosedAtDrainTimeout) {
    FlipDir setup;
    ConfigBuilder config;
    config.plugin_dir(setup.plugins).plugins_option("drain_timeout", "1s");
    config.service("flip", "flip.reply").events(1);
    PorticoProcess host(setup.dir, config.yaml());
    ASSERT_TRUE(host.wait_ready());
    const auto port = host.port("flip");

    std::vector<TcpClient> old_sessions;
    for (int i = 0; i < 3; ++i) {
        old_sessions.emplace_back(port);
        old_sessions.back().send("old\n");
        ASSERT_EQ(old_sessions.back().read_line(), "A old\n");
    }
    replace_by_rename(test_plugin("flip_b"), setup.installed);
    ASSERT_TRUE(host.wait_for_log("service 'flip' now uses flip B", scaled<Millis>(5s, 15s)));
    TcpClient new_session(port);
    new_session.send("new\n");
    EXPECT_EQ(new_session.read_line(), "B new\n");

    for (auto &old : old_sessions)
        EXPECT_TRUE(old.read_until_closed(scaled<Millis>(5s, 15s)).has_value())
            << "a session on the replaced version outlived drain_timeout (1s)";
    EXPECT_TRUE(host.wait_for_log(
        "service 'flip': closed 3 session(s) still on an old plugin version after drain_timeout", 5s));
    EXPECT_EQ(wait_one_shadow_copy(host.pid(), "flip", scaled<Millis>(10s, 30s)), "")
        << "the replaced version is still mapped";
    new_session.send("still\n");
    EXPECT_EQ(new_session.read_line(), "B still\n") << "the session on the current version was cut too";
}

// Two services flip mode together: "flip" under churning load (nobody may be
// refused, reset or left unanswered) and "names" (threadname), whose replies
// show which mode served a connection: in mode threads two connections open
// at once run on two threads; on one event loop, on the same one.
TEST(EventsReload, SighupMovesAServiceFromThreadsToEventsAndBackWithoutRefusingAnyone) {
    FlipDir setup;
    fs::copy_file(shipped_plugin("threadname"), setup.plugins / "threadname.so");
    auto make_config = [&](bool events) {
        ConfigBuilder config;
        config.plugin_dir(setup.plugins).plugins_option("drain_timeout", "30s");
        auto &flip = config.service("flip", "flip.reply");
        auto &names = config.service("names", "threadname.threadname");
        if (events) {
            flip.events(1);
            names.events(1);
        } else {
            flip.threads(2, 16);
            names.threads(2, 16);
        }
        return config.yaml();
    };
    PorticoProcess host(setup.dir, make_config(false));
    ASSERT_TRUE(host.wait_ready());
    const auto flip_port = host.port("flip");
    const auto names_port = host.port("names");

    LineLoadSpec churn;
    churn.port = flip_port;
    churn.connections = 4;
    churn.min_round_trips = 1;
    churn.max_round_trips = 3;
    churn.prefixes = {"A "};
    churn.timeout = scaled<Millis>(5s, 15s);
    LineLoad churning(churn);
    LineLoadSpec hold = churn;
    hold.connections = 2;
    hold.min_round_trips = hold.max_round_trips = 1'000'000'000; // never reconnect
    hold.seed = 2;
    LineLoad holding(hold);
    auto progress = [&](std::uint64_t more) {
        const auto churned = churning.round_trips() + more;
        const auto held = holding.round_trips() + more;
        return wait_until([&] { return churning.round_trips() >= churned && holding.round_trips() >= held; },
                          scaled<Millis>(5s, 15s));
    };
    ASSERT_TRUE(progress(100));

    TcpClient on_threads(names_port);
    const std::string worker = thread_of(on_threads, "t1");
    {
        TcpClient other(names_port);
        ASSERT_NE(thread_of(other, "t2"), worker) << "mode threads: two open connections, two workers";
    }

    auto reload = [&](bool events) {
        const auto flip_changes = host.count_log_lines({"service 'flip' changed"});
        const auto names_changes = host.count_log_lines({"service 'names' changed"});
        host.rewrite_config(make_config(events));
        host.send_signal(SIGHUP);
        return wait_until(
            [&] {
                return host.count_log_lines({"service 'flip' changed"}) > flip_changes &&
                       host.count_log_lines({"service 'names' changed"}) > names_changes;
            },
            scaled<Millis>(5s, 15s));
    };

    // threads → events
    ASSERT_TRUE(reload(true)) << "the reload to mode events was not applied";
    EXPECT_TRUE(progress(100)) << "the load stalled after the switch to mode events";
    TcpClient on_loop(names_port);
    TcpClient on_loop_too(names_port);
    const std::string loop = thread_of(on_loop, "e1");
    EXPECT_EQ(thread_of(on_loop_too, "e2"), loop) << "new connections should share the one event loop";
    EXPECT_NE(loop, worker);
    EXPECT_EQ(thread_of(on_threads, "t1 again"), worker) << "the open connection finishes on its old worker";

    // events → threads
    ASSERT_TRUE(reload(false)) << "the reload back to mode threads was not applied";
    EXPECT_TRUE(progress(100)) << "the load stalled after the switch back to mode threads";
    TcpClient back_one(names_port);
    TcpClient back_two(names_port);
    const std::string first_worker = thread_of(back_one, "b1");
    EXPECT_NE(thread_of(back_two, "b2"), first_worker) << "new connections should each have a worker again";
    EXPECT_NE(first_worker, loop);
    EXPECT_EQ(thread_of(on_loop, "e1 again"), loop) << "the connection opened in mode events finishes on its loop";
    EXPECT_EQ(thread_of(on_threads, "t1 once more"), worker);

    const LineLoadResult churned = churning.stop();
    const LineLoadResult held = holding.stop();
    EXPECT_EQ(churned.errors(), 0u) << churned.summary();
    EXPECT_EQ(churned.failed_connects, 0u) << "a connection was refused during a swap";
    EXPECT_GT(churned.connections, 100u) << churned.summary();
    EXPECT_EQ(held.errors(), 0u) << held.summary();
    EXPECT_EQ(held.connections, 2u) << "a connection held across both swaps was lost: " << held.summary();
    EXPECT_EQ(host.port("flip"), flip_port);
    EXPECT_EQ(host.port("names"), names_port);

    // Each retired service of "names" drains once its last connection leaves.
    on_threads.close();
    on_loop.close();
    on_loop_too.close();
    EXPECT_TRUE(wait_until([&] { return host.count_log_lines({"service 'names' (retired) has drained"}) == 2; },
                           scaled<Millis>(5s, 15s), 20ms))
        << "the retired threads and events services of 'names' did not both drain";
}

// A connection whose fiber waits for its PROXY header has no session yet:
// the service it came to, replaced by a SIGHUP meanwhile, is not drained
// until it has been served (it used to be judged drained at once, and a
// session registering just then was closed as it started).
TEST(EventsReload, AConnectionWaitingForItsProxyHeaderKeepsAReplacedServiceFromDraining) {
    FlipDir setup;
    auto make_config = [&](const std::string &max_line) {
        ConfigBuilder config;
        config.plugin_dir(setup.plugins);
        config.service("flip", "flip.reply")
            .events(1)
            .option("proxy_protocol", "v1")
            .option("proxy_timeout", "30s")
            .option("max_line", max_line);
        return config.yaml();
    };
    PorticoProcess host(setup.dir, make_config("1KiB"));
    ASSERT_TRUE(host.wait_ready());
    const auto port = host.port("flip");

    TcpClient waiting(port); // sends its header only after the reload
    // One loop accepts in order: once a later client is answered, the
    // waiting one has been accepted and its fiber waits for the header.
    TcpClient later(port);
    later.send("PROXY TCP4 192.0.2.1 127.0.0.1 4000 80\r\nfirst\n");
    ASSERT_EQ(later.read_line(), "A first\n");
    later.close();

    host.rewrite_config(make_config("2KiB"));
    host.send_signal(SIGHUP);
    ASSERT_TRUE(host.wait_for_log("service 'flip' changed", scaled<Millis>(5s, 15s)));
    TcpClient fresh(port);
    fresh.send("PROXY TCP4 192.0.2.2 127.0.0.1 4001 80\r\nnew\n");
    ASSERT_EQ(fresh.read_line(), "A new\n");
    // The retired service looks every few milliseconds; give it time to err.
    std::this_thread::sleep_for(300ms);
    EXPECT_EQ(host.count_log_lines({"service 'flip' (retired) has drained"}), 0u)
        << "judged drained with a connection still open:\n"
        << host.log_text();

    waiting.send("PROXY TCP4 192.0.2.3 127.0.0.1 4002 80\r\nold\n");
    EXPECT_EQ(waiting.read_line(), "A old\n");
    waiting.close();
    EXPECT_TRUE(host.wait_for_log("service 'flip' (retired) has drained", scaled<Millis>(5s, 15s))) << host.log_text();
}

} // namespace
} // namespace portico::test
