// process_state_test.cpp — `mode: process` hands each worker's plugin state
// to the new worker of its slot across a plugin reload (old worker exports,
// the master passes the bytes on, the new worker imports before it serves);
// an export that fails, crashes or hangs leaves the new worker fresh, logged,
// and a worker respawned after a crash starts fresh.
#include "harness/ConfigBuilder.h"
#include "harness/Paths.h"
#include "harness/PluginDir.h"
#include "harness/PluginFiles.h"
#include "harness/PorticoProcess.h"
#include "harness/Slowdown.h"
#include "harness/TcpClient.h"
#include "harness/TempDir.h"
#include "harness/Text.h"

#include <gtest/gtest.h>

#include <csignal>
#include <filesystem>
#include <map>
#include <optional>
#include <regex>
#include <set>
#include <string>
#include <thread>
#include <vector>

#include <signal.h>

namespace portico::test {
namespace {

namespace fs = std::filesystem;

std::string ask(TcpClient &client, const std::string &command) {
    client.send(command + "\n");
    const auto line = client.read_line();
    if (!line) throw std::runtime_error("the service closed the connection after '" + command + "'");
    return strip(*line);
}

// What one worker says about itself on a fresh connection.
struct WorkerView {
    std::string version;
    std::string count;
    std::string origin;
};

// Fresh connections until `count` different workers of `version` answered
// (the kernel picks the worker): their views by pid. Empty on timeout.
std::map<std::string, WorkerView> workers_of_version(std::uint16_t port, const std::string &version,
                                                     std::size_t count) {
    std::map<std::string, WorkerView> seen;
    wait_until(
        [&] {
            try {
                TcpClient client(port);
                const std::string pid = ask(client, "pid");
                WorkerView view{ask(client, "version"), ask(client, "get"), ask(client, "origin")};
                if (view.version == version) seen[pid] = view;
            } catch (const std::exception &) {
                // A worker between start and serve: the next try finds another.
            }
            return seen.size() >= count;
        },
        scaled<Millis>(10s, 30s), 50ms);
    if (seen.size() < count) seen.clear();
    return seen;
}

// Each threads worker gets 32 threads: the kernel may hand every connection
// a test opens to one worker, and with the default 16 the 17th would wait.
ServiceSpec &slot_service(ConfigBuilder &config, int workers, const std::string &engine) {
    ServiceSpec &spec = config.service("slot", "slotstate.slot")
                            .option("mode", "process")
                            .option("workers", std::to_string(workers))
                            .option("engine", engine);
    if (engine == "events") return spec.option("events", "{loops: 1}");
    return spec.threads(1, 32);
}

bool wait_workers_serving(PorticoProcess &host, std::size_t count) {
    return wait_until([&] { return lines_containing(host.log_text(), {"of service 'slot' serving"}).size() >= count; },
                      scaled<Millis>(10s, 30s));
}

void reload_to_version_2(PorticoProcess &host, const fs::path &plugins) {
    replace_by_rename(test_plugin("slot_state_b"), plugins / "slot_state_a.so");
    host.send_signal(SIGHUP);
}

class ProcessState : public ::testing::TestWithParam<std::string> {};

TEST_P(ProcessState, EachNewWorkerServesTheStateOfTheOldWorkerOfItsSlot) {
    TempDir dir;
    const fs::path plugins = make_plugin_dir(dir, {test_plugin("slot_state_a")});
    ConfigBuilder config;
    config.plugin_dir(plugins);
    slot_service(config, 2, GetParam());
    PorticoProcess host(dir, config.yaml());
    ASSERT_TRUE(host.wait_ready());
    ASSERT_TRUE(wait_workers_serving(host, 2));
    const auto port = host.port("slot");

    // One open connection on each worker; each worker counts to its own figure.
    std::map<std::string, TcpClient> on_worker;
    for (int i = 0; i < 40 && on_worker.size() < 2; ++i) {
        if (i > 0) std::this_thread::sleep_for(100ms); // let the last loser of the accept race poll again
        TcpClient client(port);
        const std::string pid = ask(client, "pid");
        if (!on_worker.contains(pid)) on_worker.emplace(pid, std::move(client));
    }
    ASSERT_EQ(on_worker.size(), 2u) << "40 connections all went to one worker";
    const std::string first = on_worker.begin()->first;
    const std::string second = std::next(on_worker.begin())->first;
    for (int i = 1; i <= 3; ++i)
        ASSERT_EQ(ask(on_worker.at(first), "incr"), std::to_string(i));
    for (int i = 1; i <= 5; ++i)
        ASSERT_EQ(ask(on_worker.at(second), "incr"), std::to_string(i));

    reload_to_version_2(host, plugins);
    ASSERT_TRUE(host.wait_for_log("service 'slot' now uses slotstate 2", scaled<Millis>(5s, 15s)));
    EXPECT_TRUE(wait_until(
        [&] {
            return lines_containing(host.log_text(), {"handed its state", "to the new worker of slot"}).size() >= 2;
        },
        scaled<Millis>(10s, 30s)))
        << host.log_text();

    // Each new worker carries one old worker's count, and each old count
    // reached exactly one new worker.
    const std::map<std::string, WorkerView> fresh = workers_of_version(port, "2", 2);
    ASSERT_EQ(fresh.size(), 2u) << "two workers of version 2 never both answered";
    std::map<std::string, std::string> count_by_origin;
    for (const auto &[pid, view] : fresh) {
        EXPECT_FALSE(on_worker.contains(pid)) << "an old worker answered as version 2";
        count_by_origin[view.origin] = view.count;
    }
    EXPECT_EQ(count_by_origin, (std::map<std::string, std::string>{{first, "3"}, {second, "5"}}));

    // The old worker serves its open session on, but what it counts after
    // the export stays with it: the snapshot was taken at hand-off time.
    EXPECT_EQ(ask(on_worker.at(first), "version"), "1");
    EXPECT_EQ(ask(on_worker.at(first), "incr"), "4");
    for (const auto &[pid, view] : workers_of_version(port, "2", 2)) {
        if (view.origin == first) {
            EXPECT_EQ(view.count, "3") << "a write to the old worker after its export reached worker " << pid;
        }
    }

    EXPECT_TRUE(lines_containing(host.log_text(), {"could not hand its state over"}).empty());
    EXPECT_TRUE(lines_containing(host.log_text(), {"state_import"}).empty());
    EXPECT_TRUE(host.running());
}

INSTANTIATE_TEST_SUITE_P(Engines, ProcessState, ::testing::Values("threads", "events"),
                         [](const auto &info) { return info.param; });

struct BrokenExport {
    const char *mode;   // the plugin's `export:` setting
    const char *reason; // what the master's log line says about it (a regex)
};

class ProcessStateBrokenExport : public ::testing::TestWithParam<BrokenExport> {};

TEST_P(ProcessStateBrokenExport, NewWorkerStartsFreshLoggedAndTheHostServesOn) {
    const BrokenExport &broken = GetParam();
    TempDir dir;
    const fs::path plugins = make_plugin_dir(dir, {test_plugin("slot_state_a")});
    ConfigBuilder config;
    config.plugin_dir(plugins);
    config.plugins_option("call_timeout", "1s");
    slot_service(config, 1, "threads").setting("export", broken.mode);
    PorticoProcess host(dir, config.yaml());
    ASSERT_TRUE(host.wait_ready());
    ASSERT_TRUE(wait_workers_serving(host, 1));
    const auto port = host.port("slot");

    std::string old_pid;
    {
        TcpClient client(port);
        old_pid = ask(client, "pid");
        ASSERT_EQ(ask(client, "incr"), "1");
        ASSERT_EQ(ask(client, "incr"), "2");
    }

    reload_to_version_2(host, plugins);
    ASSERT_TRUE(host.wait_for_log("service 'slot' now uses slotstate 2", scaled<Millis>(5s, 15s)));
    EXPECT_TRUE(
        host.wait_for_log(std::regex("service 'slot': worker " + old_pid + " could not hand its state over: .*" +
                                     broken.reason + ".*; the new worker of slot 0 starts fresh"),
                          scaled<Millis>(10s, 30s)))
        << host.log_text();

    const std::map<std::string, WorkerView> fresh = workers_of_version(port, "2", 1);
    ASSERT_EQ(fresh.size(), 1u) << "no worker of version 2 answered";
    EXPECT_EQ(fresh.begin()->second.count, "0");
    EXPECT_EQ(fresh.begin()->second.origin, "none");
    EXPECT_TRUE(host.running());
}

INSTANTIATE_TEST_SUITE_P(
    Modes, ProcessStateBrokenExport,
    ::testing::Values(BrokenExport{"fail", "state_export failed \\(status -?[0-9]+\\)"},
                      BrokenExport{"crash", "it ended before it answered"},
                      BrokenExport{"hang", "state_export did not return within plugins.call_timeout \\(1000ms\\)"}),
    [](const auto &info) { return std::string(info.param.mode); });

// The reload has already happened when a new worker imports: one whose
// import fails closes that context and serves with a fresh one.
TEST(ProcessStateBrokenImport, NewWorkerStartsFreshLoggedAndServes) {
    TempDir dir;
    const fs::path plugins = make_plugin_dir(dir, {test_plugin("slot_state_a")});
    ConfigBuilder config;
    config.plugin_dir(plugins);
    slot_service(config, 1, "threads").setting("import", "fail");
    PorticoProcess host(dir, config.yaml());
    ASSERT_TRUE(host.wait_ready());
    ASSERT_TRUE(wait_workers_serving(host, 1));
    const auto port = host.port("slot");
    {
        TcpClient client(port);
        ASSERT_EQ(ask(client, "incr"), "1");
    }

    reload_to_version_2(host, plugins);
    ASSERT_TRUE(host.wait_for_log("service 'slot' now uses slotstate 2", scaled<Millis>(5s, 15s)));
    EXPECT_TRUE(host.wait_for_log(std::regex("worker [0-9]+: service 'slot': handler 'slotstate.slot' \\(.*\\): "
                                             "state_import failed \\(status -?[0-9]+\\); this worker starts fresh"),
                                  scaled<Millis>(10s, 30s)))
        << host.log_text();

    const std::map<std::string, WorkerView> fresh = workers_of_version(port, "2", 1);
    ASSERT_EQ(fresh.size(), 1u) << "no worker of version 2 answered";
    EXPECT_EQ(fresh.begin()->second.count, "0") << "the half-imported context was served";
    EXPECT_TRUE(host.running());
}

// A crashed worker cannot export: the worker respawned in its slot starts
// with the state its service_open made.
TEST(ProcessStateRespawn, WorkerRespawnedAfterACrashStartsFresh) {
    TempDir dir;
    ConfigBuilder config;
    config.plugin_dir(make_plugin_dir(dir, {test_plugin("slot_state_a")}));
    slot_service(config, 1, "threads");
    PorticoProcess host(dir, config.yaml());
    ASSERT_TRUE(host.wait_ready());
    ASSERT_TRUE(wait_workers_serving(host, 1));
    const auto port = host.port("slot");

    std::string old_pid;
    {
        TcpClient client(port);
        old_pid = ask(client, "pid");
        ASSERT_EQ(ask(client, "incr"), "1");
    }
    ASSERT_EQ(::kill(std::stoi(old_pid), SIGKILL), 0);
    ASSERT_TRUE(host.wait_for_log(std::regex("worker " + old_pid + " of service 'slot' killed by signal 9"),
                                  scaled<Millis>(5s, 15s)));

    std::optional<WorkerView> respawned;
    ASSERT_TRUE(wait_until(
        [&] {
            try {
                TcpClient client(port);
                if (ask(client, "pid") == old_pid) return false;
                respawned = WorkerView{ask(client, "version"), ask(client, "get"), ask(client, "origin")};
                return true;
            } catch (const std::exception &) {
                return false;
            }
        },
        scaled<Millis>(10s, 30s), 50ms));
    EXPECT_EQ(respawned->count, "0");
    EXPECT_EQ(respawned->origin, "none");
    EXPECT_TRUE(lines_containing(host.log_text(), {"handed its state"}).empty());
}

} // namespace
} // namespace portico::test
