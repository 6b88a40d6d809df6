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

TEST(LimitsSecurity, UserDropsRootAfterBindingAndStillServesAndReloads) {
    if (::geteuid() != 0) GTEST_SKIP() << "dropping privileges needs the test to run as root (uid " << ::geteuid() << ")";
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
