// process_mode_test.cpp — `mode: process`: handlers run in worker processes,
// so a handler that aborts or segfaults takes down only the connections of
// its own worker; the host logs the signal, starts a new worker and keeps
// serving. SIGTERM leaves no worker behind; a plugin reload moves new
// connections to workers running the new version, and a worker that stops
// leaves its master's unix: socket file in place.
#include "harness/ConfigBuilder.h"
#include "harness/Paths.h"
#include "harness/PluginDir.h"
#include "harness/PorticoProcess.h"
#include "harness/Sockets.h"
#include "harness/TcpClient.h"
#include "harness/TempDir.h"
#include "harness/Text.h"

#include <gtest/gtest.h>

#include <cerrno>
#include <csignal>
#include <filesystem>
#include <fstream>
#include <map>
#include <optional>
#include <regex>
#include <set>
#include <string>
#include <thread>
#include <vector>

#include <sys/types.h>

namespace portico::test {
namespace {

namespace fs = std::filesystem;

// A client and the worker process that serves it (the "pid" line answers it).
struct Served {
    TcpClient client;
    std::string pid;
};

Served connect_and_ask_pid(std::uint16_t port) {
    TcpClient client(port);
    client.send("pid\n");
    const auto line = client.read_line();
    if (!line) throw std::runtime_error("the service closed a fresh connection");
    return Served{std::move(client), strip(*line)};
}

// Opens connections until two different workers serve at least one each;
// the kernel picks the worker, so a few tries may land on the same one.
std::vector<Served> connections_on_two_workers(std::uint16_t port) {
    std::vector<Served> open;
    std::set<std::string> pids;
    for (int i = 0; i < 24 && pids.size() < 2; ++i) { // each worker serves 32 at once (process_service)
        // The worker that lost the last accept race may still be away from
        // its poll (Poco's accept loop backs off after a failed accept):
        // give it a moment, or a quick series all lands on the winner.
        if (i > 0) std::this_thread::sleep_for(std::chrono::milliseconds(100));
        open.push_back(connect_and_ask_pid(port));
        pids.insert(open.back().pid);
    }
    return open;
}

// Worker pids announced in the log ("worker N of service 'S' started").
std::vector<std::string> started_workers(const std::string &log, const std::string &service) {
    const std::regex started("worker ([0-9]+) of service '" + service + "' started");
    std::vector<std::string> pids;
    for (std::sregex_iterator it(log.begin(), log.end(), started), end; it != end; ++it)
        pids.push_back((*it)[1]);
    return pids;
}

bool process_exists(const std::string &pid) {
    return fs::exists(fs::path("/proc") / pid);
}

std::string process_command_line(const std::string &pid) {
    std::ifstream in(fs::path("/proc") / pid / "cmdline", std::ios::binary);
    std::string text((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
    for (char &c : text)
        if (c == '\0') c = ' ';
    return text;
}

// "portico ready" means the socket is bound; workers come up just after.
bool wait_workers_serving(PorticoProcess &host, const std::string &service, std::size_t count) {
    return wait_until(
        [&] { return lines_containing(host.log_text(), {"of service '" + service + "' serving"}).size() >= count; },
        10s);
}

// Each worker has 32 threads: the kernel may hand every one of the up to 24
// connections connections_on_two_workers opens to the same worker, and with
// the default 16 the 17th would wait in that worker's queue for good.
ServiceSpec &process_service(ConfigBuilder &config, int workers) {
    return config.service("crash", "crash.crash")
        .option("mode", "process")
        .option("workers", std::to_string(workers))
        .threads(1, 32);
}

struct CrashCase {
    const char *input;
    int signal;
    const char *signal_name;
};

class ProcessModeCrash : public ::testing::TestWithParam<CrashCase> {};

TEST_P(ProcessModeCrash, KillsOnlyItsWorkersConnectionsAndTheHostKeepsServing) {
    const CrashCase &crash = GetParam();
    TempDir dir;
    ConfigBuilder config;
    config.plugin_dir(make_plugin_dir(dir, {test_plugin("crash")}));
    process_service(config, 2);
    PorticoProcess host(dir, config.yaml());
    ASSERT_TRUE(host.wait_ready());
    ASSERT_TRUE(wait_workers_serving(host, "crash", 2));
    const auto port = host.port("crash");

    std::vector<Served> open = connections_on_two_workers(port);
    std::set<std::string> pids;
    for (const Served &s : open)
        pids.insert(s.pid);
    ASSERT_EQ(pids.size(), 2u) << "24 connections all went to one worker";
    const std::string victim = open.front().pid;

    open.front().client.send(std::string(crash.input) + "\n");
    EXPECT_TRUE(open.front().client.read_until_closed(5s).has_value()) << "the crashing connection stayed open";

#if defined(__SANITIZE_ADDRESS__)
    // ASan/UBSan catch a wild write themselves and exit(1) instead of dying of it.
    const std::string how = crash.signal == SIGSEGV ? "(killed by signal 11 \\(SIGSEGV\\)|exited with status [0-9]+)"
                                                    : "killed by signal " + std::to_string(crash.signal) + " \\(" +
                                                          crash.signal_name + "\\)";
#else
    const std::string how = "killed by signal " + std::to_string(crash.signal) + " \\(" + crash.signal_name + "\\)";
#endif
    EXPECT_TRUE(host.wait_for_log(std::regex("worker " + victim + " of service 'crash' " + how + "; respawning"), 5s))
        << "no log line names the dead worker and its signal";

    // The other worker's connections go on; the victim's are gone with it.
    for (Served &s : open) {
        if (s.pid == victim) {
            if (&s != &open.front()) {
                EXPECT_TRUE(s.client.read_until_closed(5s).has_value());
            }
            continue;
        }
        s.client.send("still here\n");
        EXPECT_EQ(s.client.read_line(), "STILL HERE\n") << "a connection on worker " << s.pid << " was lost";
    }

    // A new connection is served, and a new worker replaces the dead one.
    TcpClient next(port);
    next.send("next one\n");
    EXPECT_EQ(next.read_line(), "NEXT ONE\n");
    EXPECT_TRUE(wait_until([&] { return started_workers(host.log_text(), "crash").size() == 3; }, 5s));
    EXPECT_TRUE(wait_until(
        [&] {
            try {
                return connect_and_ask_pid(port).pid != victim;
            } catch (const std::exception &) {
                return false;
            }
        },
        5s));
    EXPECT_TRUE(host.running());
}

INSTANTIATE_TEST_SUITE_P(Signals, ProcessModeCrash,
                         ::testing::Values(CrashCase{"abort", SIGABRT, "SIGABRT"},
                                           CrashCase{"segv", SIGSEGV, "SIGSEGV"}),
                         [](const auto &info) { return std::string(info.param.input); });

TEST(ProcessMode, SigtermLetsOpenSessionsFinishThenExitsZeroWithNoWorkerLeft) {
    TempDir dir;
    ConfigBuilder config;
    config.plugin_dir(make_plugin_dir(dir, {test_plugin("crash")}));
    process_service(config, 3);
    config.shutdown_timeout("10s");
    PorticoProcess host(dir, config.yaml());
    ASSERT_TRUE(host.wait_ready());
    const auto port = host.port("crash");
    Served session = connect_and_ask_pid(port);
    ASSERT_TRUE(wait_until([&] { return started_workers(host.log_text(), "crash").size() == 3; }, 5s));
    const std::vector<std::string> workers = started_workers(host.log_text(), "crash");

    host.send_signal(SIGTERM);
    EXPECT_TRUE(wait_until([&] { return TcpClient::probe_connect(port, 100ms) == ECONNREFUSED; }, 2s, 10ms))
        << "new connections were still accepted after SIGTERM";
    session.client.send("last words\n");
    EXPECT_EQ(session.client.read_line(), "LAST WORDS\n") << "the open session was cut instead of finishing";
    session.client.close();

    EXPECT_EQ(host.wait_exit(10s), ExitStatus::exited(0));
    for (const std::string &pid : workers)
        EXPECT_FALSE(process_exists(pid) && process_command_line(pid).find("--worker") != std::string::npos)
            << "worker " << pid
            << " outlived the host"; // The master shuts the shared socket down first: a worker's accept then
    // fails with EINVAL, which is the stop, not an error to log.
    EXPECT_EQ(host.count_log_lines({"accept failed"}), 0u) << host.log_text();
}

TEST(ProcessMode, PluginReloadServesTheNewVersionToNewConnections) {
    TempDir dir;
    const fs::path plugins = make_plugin_dir(dir, {test_plugin("crash")});
    ConfigBuilder config;
    config.plugin_dir(plugins);
    process_service(config, 2);
    PorticoProcess host(dir, config.yaml());
    ASSERT_TRUE(host.wait_ready());
    const auto port = host.port("crash");

    TcpClient old_session(port);
    old_session.send("version\n");
    ASSERT_EQ(old_session.read_line(), "1.0.0\n");

    // Deploy the new build the safe way (rename over), then ask for a reload.
    const fs::path temp = plugins / ".incoming-crash.so.tmp";
    fs::copy_file(test_plugin("crash_next"), temp);
    fs::rename(temp, plugins / "crash.so");
    host.send_signal(SIGHUP);
    ASSERT_TRUE(host.wait_for_log("service 'crash' now uses crash 2.0.0", 5s));

    // New workers run 2.0.0; old ones stop accepting as soon as they hear of it.
    EXPECT_TRUE(wait_until(
        [&] {
            try {
                TcpClient client(port);
                client.send("version\n");
                return client.read_line() == "2.0.0\n";
            } catch (const std::exception &) {
                return false;
            }
        },
        5s, 20ms))
        << "new connections never reached version 2.0.0";
    // Until an old worker has taken in its SIGTERM it still accepts: wait
    // for both to say they stopped, then every new connection is 2.0.0's.
    EXPECT_TRUE(wait_until(
        [&] { return lines_containing(host.log_text(), {"of service 'crash' stopped accepting"}).size() >= 2; }, 5s))
        << "the old workers never stopped accepting";
    for (int i = 0; i < 5; ++i) {
        TcpClient client(port);
        client.send("version\n");
        EXPECT_EQ(client.read_line(), "2.0.0\n");
    }

    // The session that began on 1.0.0 finishes on it, in its draining worker.
    old_session.send("version\n");
    EXPECT_EQ(old_session.read_line(), "1.0.0\n");
    old_session.close();
    EXPECT_TRUE(host.wait_for_log(std::regex("worker [0-9]+ of service 'crash' exited"), 5s))
        << "the old worker did not exit once its session ended";
}

// A worker adopts its master's socket: when it stops (here: replaced by a
// plugin reload) it must not remove the socket file the master and the new
// workers still listen on. The master, which bound it, removes it at stop.
TEST(ProcessMode, StoppingWorkerLeavesTheMastersUnixSocketFile) {
    TempDir dir;
    const fs::path plugins = make_plugin_dir(dir, {test_plugin("crash")});
    const fs::path socket = dir / "crash.sock";
    ConfigBuilder config;
    config.plugin_dir(plugins);
    process_service(config, 1).listen("unix:" + socket.string());
    PorticoProcess host(dir, config.yaml());
    ASSERT_TRUE(host.wait_ready());
    ASSERT_TRUE(wait_workers_serving(host, "crash", 1));
    const auto version_on_socket = [&]() -> std::optional<std::string> {
        try {
            TcpClient client = connect_unix(socket);
            client.send("version\n");
            return client.read_line();
        } catch (const std::exception &) {
            return std::nullopt;
        }
    };
    ASSERT_EQ(version_on_socket(), "1.0.0\n");

    const fs::path temp = plugins / ".incoming-crash.so.tmp";
    fs::copy_file(test_plugin("crash_next"), temp);
    fs::rename(temp, plugins / "crash.so");
    host.send_signal(SIGHUP);
    ASSERT_TRUE(host.wait_for_log("service 'crash' now uses crash 2.0.0", 5s));
    ASSERT_TRUE(host.wait_for_log(std::regex("worker [0-9]+ of service 'crash' exited"), 10s))
        << "the replaced worker never stopped";

    EXPECT_TRUE(fs::exists(fs::symlink_status(socket))) << "the stopped worker removed its master's socket file";
    EXPECT_TRUE(wait_until([&] { return version_on_socket() == "2.0.0\n"; }, 5s, 20ms))
        << "the new worker is not reachable through the socket file";

    host.send_signal(SIGTERM);
    EXPECT_EQ(host.wait_exit(10s), ExitStatus::exited(0));
    EXPECT_FALSE(fs::exists(fs::symlink_status(socket))) << "the master left its socket file behind at stop";
}

} // namespace
} // namespace portico::test
