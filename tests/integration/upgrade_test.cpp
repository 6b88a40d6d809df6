// upgrade_test.cpp — `portico upgrade` and SIGUSR2 (issue 17, item 3): the
// binary on disk replaced and started with every listening socket (tcp,
// udp, mode process, the unix admin socket) while 64 churning connections run, five times,
// alternating two builds that report different versions; nothing refused,
// failed or answered wrongly, new connections served by the new process once
// the upgrade says it is done, and nothing left behind. A successor that
// cannot start leaves the old process serving and the reason reported.
#include "harness/ConfigBuilder.h"
#include "harness/FlipPlugin.h"
#include "harness/Json.h"
#include "harness/LineLoad.h"
#include "harness/Paths.h"
#include "harness/PluginFiles.h"
#include "harness/PorticoCommand.h"
#include "harness/PorticoProcess.h"
#include "harness/ProcNetTcp.h"
#include "harness/Slowdown.h"
#include "harness/TcpClient.h"
#include "harness/TempDir.h"
#include "harness/UdpClient.h"

#include <gtest/gtest.h>

#include <csignal>
#include <filesystem>
#include <fstream>
#include <regex>
#include <string>

#include <sys/prctl.h>
#include <sys/wait.h>
#include <unistd.h>

namespace portico::test {
namespace {

namespace fs = std::filesystem;

constexpr const char *kVersionA = PORTICO_VERSION_A;
constexpr const char *kVersionB = PORTICO_VERSION_B;

// Orphaned predecessors become this test's children, so their exit status
// can be read and none is left as a zombie. Undone when the test ends.
struct Subreaper {
    Subreaper() { ::prctl(PR_SET_CHILD_SUBREAPER, 1); }
    ~Subreaper() { ::prctl(PR_SET_CHILD_SUBREAPER, 0); }
};

// The exit code of `pid`, once it is our child (an orphan reaped by the
// subreaper) and has ended; -1 on timeout, -2 when it died by a signal.
int wait_orphan_exit(pid_t pid, Millis timeout) {
    int code = -1;
    wait_until(
        [&] {
            int status = 0;
            const pid_t done = ::waitpid(pid, &status, WNOHANG);
            if (done != pid) return false; // still running, or not yet reparented to us (ECHILD)
            code = WIFEXITED(status) ? WEXITSTATUS(status) : -2;
            return true;
        },
        timeout, 10ms);
    return code;
}

bool process_gone(pid_t pid) {
    std::ifstream stat("/proc/" + std::to_string(pid) + "/stat");
    std::string text;
    if (!std::getline(stat, text)) return true;
    const auto close = text.rfind(')');
    return close != std::string::npos && close + 2 < text.size() && text[close + 2] == 'Z';
}

// Processes whose executable lies under `dir` (ours: the installed copies).
std::vector<pid_t> processes_running_from(const fs::path &dir) {
    std::vector<pid_t> found;
    for (const auto &entry : fs::directory_iterator("/proc")) {
        const std::string name = entry.path().filename().string();
        if (name.find_first_not_of("0123456789") != std::string::npos) continue;
        std::error_code error;
        const fs::path exe = fs::read_symlink(entry.path() / "exe", error);
        if (!error && exe.string().starts_with(dir.string()) && !process_gone(std::stoi(name)))
            found.push_back(std::stoi(name));
    }
    return found;
}

// The pid holding the server side of `client`'s connection to `port`.
bool served_by(pid_t pid, std::uint16_t port, const TcpClient &client) {
    const auto row = find_tcp_socket(port, client.local_port());
    if (!row) return false;
    const std::string wanted = "socket:[" + row->inode + "]";
    std::error_code error;
    for (const auto &fd : fs::directory_iterator("/proc/" + std::to_string(pid) + "/fd", error)) {
        std::error_code link_error;
        if (fs::read_symlink(fd.path(), link_error).string() == wanted) return true;
    }
    return false;
}

// The host under upgrade: flip.so as "flip" (tcp), udp_upper as "shout",
// the admin server on a unix socket, run from a copy of the binary in its
// own folder that the test replaces.
struct UpgradeHost : FlipDir {
    fs::path binary = dir / "bin" / "portico";
    fs::path admin = dir / "admin.sock";
    ConfigBuilder config;

    UpgradeHost() {
        fs::create_directories(binary.parent_path());
        fs::copy_file(portico_binary(), binary);
        dir.copy_in(shipped_plugin("udp_upper"), "plugins/udp_upper.so");
        config.plugin_dir(plugins).plugins_option("watch", "false");
        config.service("flip", "flip.reply").threads(8, 96).option("max_queued", "256");
        config.service("shout", "udp_upper").option("protocol", "udp");
        config.service("forked", "flip.reply").option("mode", "process").option("workers", "1").threads(1, 8);
        config.shutdown_timeout("5s");
        config.raw("admin:\n  listen: \"unix:" + admin.string() + "\"\n");
    }

    // Puts `source` at the binary's path the way a package manager does.
    void install(const fs::path &source) const { replace_by_rename(source, binary); }
};

// The pid `portico status` reports, or 0.
long status_pid(const fs::path &config) {
    const auto status = run_portico({"status", "--config", config.string(), "--json"});
    if (status.status != ExitStatus::exited(0)) return 0;
    try {
        return static_cast<long>(Json::parse(status.output)["host"]["pid"].number());
    } catch (const std::exception &) {
        return 0;
    }
}

LineLoadSpec churn(std::uint16_t port) {
    LineLoadSpec spec;
    spec.port = port;
    spec.connections = 64;
    spec.min_round_trips = 1;
    spec.max_round_trips = 20;
    spec.prefixes = {"A "};
    spec.timeout = scaled<Millis>(5s, 15s);
    spec.spread_sources = true; // tens of thousands of connections in a few seconds
    return spec;
}

void expect_clean(const LineLoadResult &result) {
    EXPECT_EQ(result.failed_connects, 0u);
    EXPECT_EQ(result.failed, 0u);
    EXPECT_EQ(result.truncated, 0u);
    EXPECT_EQ(result.mismatched, 0u);
    EXPECT_EQ(result.mixed, 0u);
}

TEST(Upgrade, FiveUpgradesUnderChurnRefuseNothingAndHandEveryNewConnectionToTheNewBinary) {
    Subreaper subreaper;
    UpgradeHost setup;
    auto host =
        std::make_unique<PorticoProcess>(setup.dir, setup.config.yaml(), std::vector<std::string>{}, setup.binary);
    ASSERT_TRUE(host->wait_ready());
    const auto port = host->port("flip");
    const auto udp_port = host->port("shout");
    const auto forked_port = host->port("forked");
    ASSERT_TRUE(host->wait_for_log("admin listening on", 5s));
    pid_t current = host->pid();
    ASSERT_EQ(status_pid(host->config_path()), current);

    LineLoad load(churn(port));
    ASSERT_TRUE(wait_until([&] { return load.round_trips() >= 300; }, scaled<Millis>(10s, 30s)));

    constexpr int kUpgrades = 5;
    for (int upgrade = 1; upgrade <= kUpgrades; ++upgrade) {
        SCOPED_TRACE("upgrade " + std::to_string(upgrade));
        const bool to_b = upgrade % 2 == 1;
        setup.install(to_b ? fs::path(PORTICO_BINARY_B) : portico_binary());
        const auto done_before = host->count_log_lines({"upgraded: pid"});
        pid_t next = 0;
        if (upgrade % 2 == 1) {
            const auto answer = run_portico({"upgrade", "--config", host->config_path().string()}, 60s);
            ASSERT_EQ(answer.status, ExitStatus::exited(0)) << answer.output;
            std::smatch match;
            ASSERT_TRUE(std::regex_search(answer.output, match, std::regex(R"(upgraded: pid (\d+))"))) << answer.output;
            next = std::stoi(match[1]);
        } else {
            ::kill(current, SIGUSR2);
            ASSERT_TRUE(wait_until([&] { return host->count_log_lines({"upgraded: pid"}) > done_before; }, 60s))
                << host->log_text();
            std::smatch match;
            const std::string line = lines_containing(host->log_text(), {"upgraded: pid"}).back();
            ASSERT_TRUE(std::regex_search(line, match, std::regex(R"(upgraded: pid (\d+))")));
            next = std::stoi(match[1]);
        }
        ASSERT_NE(next, current);
        // The new process reports the version of the build just installed.
        const std::string version = to_b ? kVersionB : kVersionA;
        EXPECT_EQ(
            lines_containing(host->log_text(), {"portico " + version + " (pid " + std::to_string(next) + ")"}).size(),
            1u)
            << host->log_text();

        // Done means done: this new connection is the new process's.
        TcpClient client(port);
        client.send("whose\n");
        EXPECT_EQ(client.read_line(), "A whose\n");
        EXPECT_TRUE(served_by(next, port, client))
            << "a connection made after the upgrade was accepted by pid " << current << ", not " << next;
        EXPECT_EQ(status_pid(host->config_path()), next);
        UdpClient udp(udp_port);
        EXPECT_EQ(udp.request("upgraded", 5s), "UPGRADED");
        // mode process: the new master's worker takes the passed socket.
        TcpClient forked(forked_port);
        forked.send("forked\n");
        EXPECT_EQ(forked.read_line(10s), "A forked\n");

        // The old one drains and exits 0.
        const int code =
            upgrade == 1 ? (host->wait_exit(20s) == ExitStatus::exited(0) ? 0 : 1) : wait_orphan_exit(current, 20s);
        EXPECT_EQ(code, 0) << "pid " << current;
        // It handed the admin socket on: its file is the new process's now.
        EXPECT_TRUE(fs::exists(fs::symlink_status(setup.admin)))
            << "the old process removed the handed-over admin file";
        EXPECT_EQ(status_pid(host->config_path()), next);
        current = next;
        const auto progress = load.round_trips() + 200;
        EXPECT_TRUE(wait_until([&] { return load.round_trips() >= progress; }, scaled<Millis>(10s, 30s)));
    }
    const LineLoadResult result = load.stop();
    SCOPED_TRACE(result.summary());
    expect_clean(result);

    ::kill(current, SIGTERM);
    EXPECT_EQ(wait_orphan_exit(current, 20s), 0);
    EXPECT_TRUE(processes_running_from(setup.dir.path()).empty()) << "a portico process outlived the test";
    EXPECT_EQ(TcpClient::probe_connect(port), ECONNREFUSED) << "the service's socket outlived every process";
    EXPECT_EQ(run_portico({"status", "--config", host->config_path().string()}).status, ExitStatus::exited(1));
    EXPECT_FALSE(fs::exists(fs::symlink_status(setup.admin))) << "the last process left the admin socket file behind";
}

// A successor that exits at once, and one that refuses its config: the old
// process serves on, untouched, says why, and still answers `portico status`.
TEST(Upgrade, FailedUpgradeUnderChurnKeepsTheOldProcessServing) {
    UpgradeHost setup;
    PorticoProcess host(setup.dir, setup.config.yaml(), {}, setup.binary);
    ASSERT_TRUE(host.wait_ready());
    const auto port = host.port("flip");
    ASSERT_TRUE(host.wait_for_log("admin listening on", 5s));

    LineLoad load(churn(port));
    ASSERT_TRUE(wait_until([&] { return load.round_trips() >= 300; }, scaled<Millis>(10s, 30s)));

    const fs::path quitter = setup.dir.write_file("quitter", "#!/bin/sh\nexit 3\n");
    fs::permissions(quitter, fs::perms::owner_all);
    setup.install(quitter);
    const auto failed = run_portico({"upgrade", "--config", host.config_path().string()}, 60s);
    EXPECT_EQ(failed.status, ExitStatus::exited(1)) << failed.output;
    EXPECT_NE(failed.output.find("upgrade: failed"), std::string::npos) << failed.output;
    EXPECT_NE(failed.output.find("exited with status 3 before it was ready"), std::string::npos) << failed.output;
    EXPECT_NE(failed.output.find("pid " + std::to_string(host.pid()) + " keeps serving"), std::string::npos)
        << failed.output;

    // The real binary again, with a config it refuses (a handler no plugin
    // has; `portico upgrade` itself reads only admin.listen): its own
    // errors come back.
    setup.install(portico_binary());
    ConfigBuilder broken = setup.config;
    broken.service("ghost", "nosuch.reply");
    host.rewrite_config(broken.yaml());
    const auto refused = run_portico({"upgrade", "--config", host.config_path().string()}, 60s);
    EXPECT_EQ(refused.status, ExitStatus::exited(1)) << refused.output;
    EXPECT_NE(refused.output.find("exited with status 2 before it was ready: portico: "), std::string::npos)
        << refused.output;
    EXPECT_NE(refused.output.find("no plugin provides handler 'nosuch.reply'"), std::string::npos) << refused.output;
    host.rewrite_config(setup.config.yaml());

    const auto progress = load.round_trips() + 200;
    EXPECT_TRUE(wait_until([&] { return load.round_trips() >= progress; }, scaled<Millis>(10s, 30s)));
    const LineLoadResult result = load.stop();
    SCOPED_TRACE(result.summary());
    expect_clean(result);
    EXPECT_EQ(status_pid(host.config_path()), host.pid());
    EXPECT_TRUE(host.running());
    EXPECT_EQ(ask(port, "still me"), "A still me\n");
    host.send_signal(SIGTERM);
    EXPECT_EQ(host.wait_exit(20s), ExitStatus::exited(0)) << host.log_text();
}

} // namespace
} // namespace portico::test
