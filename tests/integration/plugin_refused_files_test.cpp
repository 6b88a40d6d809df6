// plugin_refused_files_test.cpp — how the host treats a plugin file it has
// refused (issues 14 and 15): a file change elsewhere in the folder does not
// retry (and log) it again, a chmod that fixes it is noticed by the watcher,
// a first load that fails says nothing about a "previous version", and a
// plugin that cannot be unloaded (STB_GNU_UNIQUE) is reported at load.
#include "harness/ConfigBuilder.h"
#include "harness/Paths.h"
#include "harness/PluginDir.h"
#include "harness/PluginFiles.h"
#include "harness/PorticoProcess.h"
#include "harness/TcpClient.h"
#include "harness/TempDir.h"

#include <gtest/gtest.h>

#include <filesystem>

namespace portico::test {
namespace {

namespace fs = std::filesystem;

TEST(RefusedFiles, AnotherFileChangingDoesNotRetryAnUnchangedRefusedFile) {
    TempDir dir;
    const fs::path plugins = make_plugin_dir(dir, {shipped_plugin("upper"), test_plugin("bad_magic")});
    ConfigBuilder config;
    config.plugin_dir(plugins);
    config.service("upper", "upper.upper");
    PorticoProcess host(dir, config.yaml());
    ASSERT_TRUE(host.wait_ready());
    ASSERT_TRUE(host.wait_for_log_line({"bad_magic.so", "bad magic"}, 5s));
    const auto refusals = host.count_log_lines({"bad_magic.so", "bad magic"});

    // bad_magic.so sorts before echo.so: a retry would be logged before echo loads.
    replace_by_rename(shipped_plugin("echo"), plugins / "echo.so");
    ASSERT_TRUE(host.wait_for_log_line({"loaded plugin 'echo'"}, 10s));
    replace_by_rename(test_plugin("flip_a"), plugins / "flip.so");
    ASSERT_TRUE(host.wait_for_log_line({"loaded plugin 'flip'"}, 10s));
    EXPECT_EQ(host.count_log_lines({"bad_magic.so", "bad magic"}), refusals)
        << "the unchanged refused file was retried and logged again";
}

TEST(RefusedFiles, AChmodThatFixesARefusedFileIsNoticedByTheWatcher) {
    TempDir dir;
    const fs::path plugins = make_plugin_dir(dir, {shipped_plugin("upper")});
    ConfigBuilder config;
    config.plugin_dir(plugins);
    config.service("upper", "upper.upper");
    PorticoProcess host(dir, config.yaml());
    ASSERT_TRUE(host.wait_ready());

    const fs::path staged = plugins / "flip.so.partial";
    fs::copy_file(test_plugin("flip_a"), staged);
    fs::permissions(staged, fs::perms(0666));
    fs::rename(staged, plugins / "flip.so");
    ASSERT_TRUE(host.wait_for_log_line({"flip.so", "is writable by other users (mode 0666)"}, 10s));
    EXPECT_EQ(host.count_log_lines({"flip.so", "previous version keeps serving"}), 0u)
        << "flip.so had no previous version";

    fs::permissions(plugins / "flip.so", fs::perms(0644));
    EXPECT_TRUE(host.wait_for_log_line({"loaded plugin 'flip'"}, 10s)) << "the fixed file was not retried";
}

TEST(RefusedFiles, APluginWithGnuUniqueSymbolsIsReportedAtLoadAndRefusedWhenStrict) {
    TempDir dir;
    const fs::path plugins = make_plugin_dir(dir, {shipped_plugin("upper"), test_plugin("gnu_unique")});
    {
        ConfigBuilder config;
        config.plugin_dir(plugins);
        config.service("count", "gnu_unique.count");
        PorticoProcess host(dir, config.yaml());
        ASSERT_TRUE(host.wait_ready()) << "without plugins.strict it is only a warning";
        EXPECT_TRUE(host.wait_for_log_line(
            {"gnu_unique.so", "has STB_GNU_UNIQUE symbols", "lines_served", "-fno-gnu-unique"}, 5s));
        TcpClient client(host.port("count"));
        client.send("a\n");
        EXPECT_EQ(client.read_line(), "1\n");
    }
    ConfigBuilder config;
    config.plugin_dir(plugins).plugins_option("strict", "true");
    config.service("upper", "upper.upper");
    PorticoProcess host(dir, config.yaml());
    ASSERT_TRUE(host.wait_ready());
    EXPECT_TRUE(host.wait_for_log_line({"gnu_unique.so", "refused because plugins.strict is on"}, 5s));
    EXPECT_TRUE(lines_containing(host.log_text(), {"upper.so", "STB_GNU_UNIQUE"}).empty())
        << "the SDK-built plugin has no STB_GNU_UNIQUE symbol";
}

TEST(RefusedFiles, AnOldVersionsUnloadIsLoggedAtInformation) {
    TempDir dir;
    const fs::path plugins = dir.subdir("plugins");
    fs::copy_file(test_plugin("flip_a"), plugins / "flip.so");
    ConfigBuilder config;
    config.plugin_dir(plugins);
    config.service("flip", "flip.reply");
    PorticoProcess host(dir, config.yaml());
    ASSERT_TRUE(host.wait_ready());
    replace_by_rename(test_plugin("flip_b"), plugins / "flip.so");
    EXPECT_TRUE(host.wait_for_log_line({"unloaded plugin 'flip' generation 1"}, 10s));
}

} // namespace
} // namespace portico::test
