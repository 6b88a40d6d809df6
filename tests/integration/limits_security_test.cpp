// limits_security_test.cpp — what the host refuses to trust and the
// privileges it gives up (issue 4): plugin files any user could replace are
// refused with the reason; `user:` drops root after binding, and the host
// still serves and hot-reloads as that user.
#include "harness/ConfigBuilder.h"
#include "harness/Paths.h"
#include "harness/PluginDir.h"
#include "harness/PluginFiles.h"
#include "harness/PorticoProcess.h"
#include "harness/ProcStatus.h"
#include "harness/TcpClient.h"
#include "harness/TempDir.h"

#include <gtest/gtest.h>

#include <csignal>
#include <filesystem>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include <pwd.h>
#include <unistd.h>

namespace portico::test {
namespace {

namespace fs = std::filesystem;

std::unique_ptr<PorticoProcess> start_upper_from(const TempDir &dir, const fs::path &plugins) {
    ConfigBuilder config;
    config.plugin_dir(plugins);
    config.service("upper", "upper.upper");
    return std::make_unique<PorticoProcess>(dir, config.yaml());
}

TEST(LimitsSecurity, PluginWritableByOthersIsRefusedWithTheReason) {
    TempDir dir;
    const fs::path plugins = make_plugin_dir(dir, {shipped_plugin("upper")});
    fs::permissions(plugins / "upper.so", fs::perms(0666));

    auto host = start_upper_from(dir, plugins);
    EXPECT_EQ(host->wait_exit(10s), ExitStatus::exited(2)) << "service upper has no plugin left to serve it";
    const std::string log = host->log_text();
    EXPECT_NE(log.find("upper.so"), std::string::npos) << log;
    EXPECT_NE(log.find("is writable by other users (mode 0666)"), std::string::npos) << log;
}

TEST(LimitsSecurity, PluginInAFolderWritableByOthersIsRefusedUnlessSticky) {
    TempDir dir;
    const fs::path plugins = make_plugin_dir(dir, {shipped_plugin("upper")});
    fs::permissions(plugins, fs::perms(0777));
    {
        auto host = start_upper_from(dir, plugins);
        EXPECT_EQ(host->wait_exit(10s), ExitStatus::exited(2));
        EXPECT_NE(host->log_text().find("is in a folder writable by other users"), std::string::npos)
            << host->log_text();
    }
    fs::permissions(plugins, fs::perms(01777)); // like /tmp: others cannot replace our files
    auto host = start_upper_from(dir, plugins);
    EXPECT_TRUE(host->wait_ready()) << "a sticky folder is safe";
}

// Like sshd's StrictModes: only root and the user portico runs as may own
// or write the plugin file and its folders (issue 14). Needs root to chown.
class StrictOwnership : public ::testing::Test {
protected:
    void SetUp() override {
        if (::geteuid() != 0) GTEST_SKIP() << "chown to another user needs the test to run as root";
        const passwd *nobody = ::getpwnam("nobody");
        if (nobody == nullptr) GTEST_SKIP() << "this machine has no user 'nobody'";
        other_uid = nobody->pw_uid;
        other_gid = nobody->pw_gid;
        plugins = make_plugin_dir(dir, {shipped_plugin("upper")});
    }
    // Starts the host, which has no plugin left for its service: exit 2, and
    // the log must hold a line naming the file with `reason`.
    void expect_refused(std::initializer_list<std::string_view> reason) {
        auto host = start_upper_from(dir, plugins);
        EXPECT_EQ(host->wait_exit(10s), ExitStatus::exited(2));
        std::vector<std::string_view> parts{"upper.so"};
        parts.insert(parts.end(), reason.begin(), reason.end());
        bool found = false;
        for (const std::string &line : lines_containing(host->log_text(), {"upper.so"})) {
            bool all = true;
            for (const auto part : parts)
                all = all && line.find(part) != std::string::npos;
            found = found || all;
        }
        EXPECT_TRUE(found) << host->log_text();
    }
    TempDir dir;
    fs::path plugins;
    uid_t other_uid = 0;
    gid_t other_gid = 0;
};

TEST_F(StrictOwnership, PluginFileOwnedByAnotherUserIsRefused) {
    ASSERT_EQ(::chown((plugins / "upper.so").c_str(), other_uid, 0), 0);
    expect_refused({"is owned by user 'nobody' (uid " + std::to_string(other_uid) + "), mode 0", "chown root"});
}

TEST_F(StrictOwnership, PluginFolderOwnedByAnotherUserIsRefused) {
    ASSERT_EQ(::chown(plugins.c_str(), other_uid, 0), 0);
    expect_refused({"is in a folder owned by user 'nobody'", plugins.string()});
}

TEST_F(StrictOwnership, FolderWritableByAnotherGroupIsRefused) {
    ASSERT_EQ(::chown(plugins.c_str(), 0, other_gid), 0);
    fs::permissions(plugins, fs::perms(0775));
    expect_refused({"is in a folder writable by group", "mode 0775", "chmod g-w " + plugins.string()});
}

TEST_F(StrictOwnership, FileWritableByAnotherGroupIsRefused) {
    ASSERT_EQ(::chown((plugins / "upper.so").c_str(), 0, other_gid), 0);
    fs::permissions(plugins / "upper.so", fs::perms(0664));
    expect_refused({"is writable by group", "mode 0664", "chmod g-w"});
}

TEST_F(StrictOwnership, RootsOwnGroupMayWriteAndTheHostServes) {
    ASSERT_EQ(::chown(plugins.c_str(), 0, 0), 0);
    fs::permissions(plugins, fs::perms(0775));
    auto host = start_upper_from(dir, plugins);
    ASSERT_TRUE(host->wait_ready()) << "a folder only root's group may write is trusted";
    TcpClient client(host->port("upper"));
    client.send("ok\n");
    EXPECT_EQ(client.read_line(), "OK\n");
}

TEST(LimitsSecurity, UserDropsRootAfterBindingAndStillServesAndReloads) {
    if (::geteuid() != 0)
        GTEST_SKIP() << "dropping privileges needs the test to run as root (uid " << ::geteuid() << ")";
    const passwd *nobody = ::getpwnam("nobody");
    if (nobody == nullptr) GTEST_SKIP() << "this machine has no user 'nobody'";
    const uid_t nobody_uid = nobody->pw_uid;

    TempDir dir;
    // The dropped host must still read its config and watch its plugin folder.
    fs::permissions(dir.path(), fs::perms(0755));
    const fs::path plugins = dir.subdir("plugins");
    fs::permissions(plugins, fs::perms(0755));
    fs::copy_file(test_plugin("flip_a"), plugins / "flip.so");
    ConfigBuilder config;
    config.plugin_dir(plugins);
    config.service("flip", "flip.reply");
    config.raw("user: nobody");
    PorticoProcess host(dir, config.yaml());
    ASSERT_TRUE(host.wait_ready());

    EXPECT_EQ(real_uid(host.pid()), static_cast<long long>(nobody_uid))
        << "Uid line: " << proc_status_field(host.pid(), "Uid").value_or("?");
    EXPECT_NE(host.log_text().find("running as user 'nobody'"), std::string::npos);
    TcpClient before(host.port("flip"));
    before.send("one\n");
    EXPECT_EQ(before.read_line(), "A one\n");

    replace_by_rename(test_plugin("flip_b"), plugins / "flip.so");
    const bool reloaded = wait_until(
        [&] {
            TcpClient fresh(host.port("flip"));
            fresh.send("two\n");
            return fresh.read_line() == "B two\n";
        },
        10s, 50ms);
    EXPECT_TRUE(reloaded) << "the host should hot-reload the plugin as user nobody";

    before.close(); // else SIGTERM waits shutdown_timeout for it
    host.send_signal(SIGTERM);
    EXPECT_EQ(host.wait_exit(15s), ExitStatus::exited(0));
}

} // namespace
} // namespace portico::test
