// Tests of host/plugin/PluginRegistry: versioning, refusals that change
// nothing, the glibc reload traps of design §3 (same inode, RTLD_GLOBAL,
// mappings left behind, RSS growth) and crash-leftover cleanup.
#include "plugin/PluginRegistry.h"

#include "plugin/MappingCheck.h"

#include "PluginTestSupport.h"

#include <dlfcn.h>
#include <gtest/gtest.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <atomic>
#include <chrono>
#include <thread>

#if defined(__SANITIZE_ADDRESS__) || defined(__SANITIZE_THREAD__)
#define PORTICO_TEST_SANITIZED 1
#elif defined(__has_feature)
#if __has_feature(address_sanitizer) || __has_feature(thread_sanitizer)
#define PORTICO_TEST_SANITIZED 1
#endif
#endif

namespace portico::host {
namespace {

using namespace plugin_test;
using namespace std::chrono_literals;

class PluginRegistryTest : public ::testing::Test {
protected:
    fs::path copy_in(const std::string &test_plugin_name, const std::string &as) {
        const auto to = plugins / as;
        copy_plugin(test_plugin(test_plugin_name), to);
        return to;
    }
    // Polls until the unloader has finished `n` unloads.
    bool wait_unloads(const PluginRegistry &registry, uint64_t n) {
        const auto deadline = std::chrono::steady_clock::now() + 10s;
        while (registry.stats().unloads < n) {
            if (std::chrono::steady_clock::now() > deadline) return false;
            std::this_thread::sleep_for(2ms);
        }
        return true;
    }

    TempDir plugins;
    TempDir shadow_parent;
};

TEST_F(PluginRegistryTest, LoadsInAPrivateShadowDirAndServes) {
    PluginRegistry registry(test_host_api(), shadow_parent.path());
    const auto dir = registry.shadow_dir();
    EXPECT_EQ(dir.parent_path(), shadow_parent.path());
    EXPECT_EQ(dir.filename().string().rfind("portico-" + std::to_string(::getpid()) + "-", 0), 0u);
    struct stat st {};
    ASSERT_EQ(::stat(dir.c_str(), &st), 0);
    EXPECT_EQ(st.st_mode & 0777, 0700u);

    const auto file = copy_in("throwing", "throwing.so");
    const auto outcome = registry.load(file);
    ASSERT_TRUE(outcome.ok) << outcome.error;
    EXPECT_EQ(outcome.replaced, nullptr);
    const auto current = registry.current("throwing");
    ASSERT_NE(current, nullptr);
    EXPECT_EQ(current, outcome.version);
    EXPECT_EQ(current->generation(), 1u);
    EXPECT_EQ(current->shadow_file().parent_path(), dir);
    EXPECT_EQ(run_stream(*current, "boom", "abc\n"), "ABC\n");
    EXPECT_EQ(registry.current("other"), nullptr);
    EXPECT_EQ(registry.current_all().size(), 1u);
    EXPECT_EQ(registry.stats().loads_ok, 1u);
}

TEST_F(PluginRegistryTest, ARefusedLoadLeavesThePreviousVersionServing) {
    PluginRegistry registry(test_host_api(), shadow_parent.path());
    const auto file = plugins / "throwing.so";
    copy_plugin(test_plugin("throwing"), file);
    ASSERT_TRUE(registry.load(file).ok);
    const auto first = registry.current("throwing");

    const std::string whole = read_file(test_plugin("throwing"));
    struct Bad {
        std::string bytes;
        std::string phrase;
    };
    const std::vector<Bad> bad = {
        {"not a library\n", ": is not an ELF shared object ("},
        {whole.substr(0, whole.size() / 2), ": truncated ELF file ("},
        {read_file(test_plugin("bad_magic")), ": bad magic 0xdeadbeef"},
        {read_file(test_plugin("bad_abi")), ": plugin ABI version 99 is not supported"},
        {read_file(test_plugin("no_entry")), ": does not export portico_plugin_v1 ("},
        {read_file(test_plugin("init_fails")), ": init failed: database connection string missing"},
        {read_file(test_plugin("dup_handler")), ": duplicate handler name 'same'"},
    };
    uint64_t failed = 0;
    for (const auto &b : bad) {
        write_file(file, b.bytes);
        const auto outcome = registry.load(file);
        EXPECT_FALSE(outcome.ok);
        EXPECT_EQ(outcome.error.rfind(file.string() + b.phrase, 0), 0u) << outcome.error;
        EXPECT_EQ(outcome.version, nullptr);
        const auto stats = registry.stats();
        EXPECT_EQ(stats.loads_failed, ++failed);
        EXPECT_EQ(stats.last_error, outcome.error);
        EXPECT_NE(stats.last_error_at, std::chrono::system_clock::time_point{});
        EXPECT_EQ(registry.current("throwing"), first);
        EXPECT_EQ(run_stream(*registry.current("throwing"), "boom", "still\n"), "STILL\n");
    }
    // Nothing of the refused candidates is left: one shadow copy, one mapping.
    EXPECT_EQ(files_in(registry.shadow_dir()), std::vector<fs::path>{first->shadow_file()});
    size_t mapped_under_shadow = 0;
    for (const auto &m : mapped_files())
        if (m.rfind(registry.shadow_dir().string(), 0) == 0) ++mapped_under_shadow;
    EXPECT_EQ(mapped_under_shadow, 1u);
    EXPECT_TRUE(registry.draining().empty());
}

TEST_F(PluginRegistryTest, RefusesAPluginNameAnotherFileProvides) {
    PluginRegistry registry(test_host_api(), shadow_parent.path());
    const auto a = copy_in("throwing", "throwing.so");
    const auto b = copy_in("throwing", "impostor.so");
    ASSERT_TRUE(registry.load(a).ok);
    const auto outcome = registry.load(b);
    EXPECT_FALSE(outcome.ok);
    EXPECT_EQ(outcome.error, b.string() + ": plugin name 'throwing' is already provided by " + a.string());
    EXPECT_EQ(registry.current("throwing")->source_file(), a);
}

TEST_F(PluginRegistryTest, TheVetterCanRefuseACandidate) {
    PluginRegistry registry(test_host_api(), shadow_parent.path());
    const auto file = copy_in("throwing", "throwing.so");
    ASSERT_TRUE(registry.load(file).ok);
    const auto first = registry.current("throwing");
    std::string seen;
    const auto outcome = registry.load(file, [&](const PluginVersion &candidate) -> std::optional<std::string> {
        seen = candidate.plugin_name() + "#" + std::to_string(candidate.generation());
        return "handler 'throwing.gone' is used by service 'x' but the new version lacks it";
    });
    EXPECT_EQ(seen, "throwing#2");
    EXPECT_FALSE(outcome.ok);
    EXPECT_EQ(outcome.error,
              file.string() + ": handler 'throwing.gone' is used by service 'x' but the new version lacks it");
    EXPECT_EQ(registry.current("throwing"), first);
    EXPECT_EQ(files_in(registry.shadow_dir()).size(), 1u);

    const auto accepted = registry.load(file, [](const PluginVersion &) { return std::optional<std::string>{}; });
    EXPECT_TRUE(accepted.ok);
    EXPECT_EQ(accepted.version->generation(), 3u);
}

TEST_F(PluginRegistryTest, AReloadKeepsThePinnedOldVersionMappedUntilReleased) {
    PluginRegistry registry(test_host_api(), shadow_parent.path());
    const auto file = copy_in("throwing", "throwing.so");
    ASSERT_TRUE(registry.load(file).ok);
    auto pinned = registry.current("throwing"); // a session that started on generation 1

    auto second = registry.load(file);
    ASSERT_TRUE(second.ok) << second.error;
    EXPECT_EQ(second.replaced, pinned);
    second.replaced.reset();
    const auto now = registry.current("throwing");
    EXPECT_EQ(now->generation(), 2u);
    EXPECT_NE(now->shadow_file(), pinned->shadow_file());
    EXPECT_TRUE(is_mapped(pinned->shadow_file()));
    EXPECT_TRUE(is_mapped(now->shadow_file()));
    struct stat a {
    }, b{};
    ASSERT_EQ(::stat(pinned->shadow_file().c_str(), &a), 0);
    ASSERT_EQ(::stat(now->shadow_file().c_str(), &b), 0);
    EXPECT_NE(a.st_ino, b.st_ino);

    const auto draining = registry.draining();
    ASSERT_EQ(draining.size(), 1u);
    EXPECT_EQ(draining[0].generation, 1u);
    EXPECT_EQ(draining[0].plugin, "throwing");
    EXPECT_EQ(draining[0].users, 1);
    EXPECT_FALSE(registry.wait_drained(20ms));

    // Both serve at once: the old one its pinned session, the new one new sessions.
    EXPECT_EQ(run_stream(*pinned, "boom", "old\n"), "OLD\n");
    EXPECT_EQ(run_stream(*now, "boom", "new\n"), "NEW\n");

    const auto old_shadow = pinned->shadow_file();
    pinned.reset(); // the session ends
    EXPECT_TRUE(registry.wait_drained(10s));
    EXPECT_TRUE(registry.draining().empty());
    EXPECT_FALSE(fs::exists(old_shadow));
    EXPECT_FALSE(is_mapped(old_shadow));
    EXPECT_EQ(registry.stats().unloads, 1u);
    EXPECT_EQ(registry.stats().unload_leaks, 0u);
    EXPECT_EQ(run_stream(*registry.current("throwing"), "boom", "after\n"), "AFTER\n");
}

TEST_F(PluginRegistryTest, VersionsOfOneFileHaveSeparateStatics) {
    PluginRegistry registry(test_host_api(), shadow_parent.path());
    const auto file = copy_in("throwing", "throwing.so");
    ASSERT_TRUE(registry.load(file).ok);
    const auto first = registry.current("throwing");
    ASSERT_TRUE(registry.load(file).ok); // generation 2: replaced below, unloaded
    ASSERT_TRUE(registry.load(file).ok); // generation 3
    ASSERT_TRUE(wait_unloads(registry, 1));
    const auto third = registry.current("throwing");

    // Different copies of the code and of the plugin's static handler table...
    const auto &d1 = first->find_handler("boom")->desc;
    const auto &d3 = third->find_handler("boom")->desc;
    EXPECT_NE(d1.handle_stream, d3.handle_stream);
    EXPECT_NE(d1.user, d3.user);
    // ...so generation 2's unload hook (which clears its statics) and dlclose
    // left generation 1's intact: with RTLD_GLOBAL or a shared inode they
    // would be one object and generation 1 would now dangle.
    EXPECT_EQ(run_stream(*first, "boom", "one\n"), "ONE\n");
    EXPECT_EQ(run_stream(*third, "boom", "three\n"), "THREE\n");
}

TEST_F(PluginRegistryTest, ReportsAVersionDlcloseCouldNotUnmap) {
    PluginRegistry registry(test_host_api(), shadow_parent.path());
    const auto file = copy_in("throwing", "throwing.so");
    ASSERT_TRUE(registry.load(file).ok);
    const auto shadow = registry.current("throwing")->shadow_file();
    // Stands in for an STB_GNU_UNIQUE symbol: a second reference dlclose cannot drop.
    void *extra = ::dlopen(shadow.c_str(), RTLD_NOW | RTLD_NOLOAD);
    ASSERT_NE(extra, nullptr);

    ASSERT_TRUE(registry.load(file).ok);
    EXPECT_TRUE(registry.wait_drained(10s));
    EXPECT_EQ(registry.stats().unload_leaks, 1u);
    EXPECT_FALSE(fs::exists(shadow));
    EXPECT_TRUE(is_mapped(shadow));

    ::dlclose(extra);
    EXPECT_FALSE(is_mapped(shadow));
}

TEST_F(PluginRegistryTest, DestructionUnloadsEverythingAndRemovesTheShadowDir) {
    fs::path dir, shadow;
    {
        PluginRegistry registry(test_host_api(), shadow_parent.path());
        ASSERT_TRUE(registry.load(copy_in("throwing", "throwing.so")).ok);
        ASSERT_TRUE(registry.load(copy_in("slow", "slow.so")).ok);
        dir = registry.shadow_dir();
        shadow = registry.current("slow")->shadow_file();
        EXPECT_EQ(registry.current_all().size(), 2u);
    }
    EXPECT_FALSE(fs::exists(dir));
    EXPECT_FALSE(is_mapped(shadow));
}

TEST_F(PluginRegistryTest, RemovesShadowDirsOfDeadProcessesOnly) {
    const pid_t child = ::fork();
    ASSERT_GE(child, 0);
    if (child == 0) ::_exit(0);
    int status = 0;
    ::waitpid(child, &status, 0); // now a pid nobody has (until reused)

    const auto dead = shadow_parent / ("portico-" + std::to_string(child) + "-abc123");
    const auto mine = shadow_parent / ("portico-" + std::to_string(::getpid()) + "-keep01");
    const auto init = shadow_parent / "portico-1-alive1"; // pid 1 is alive (maybe not ours: EPERM)
    const auto other = shadow_parent / "portico-notapid-x";
    for (const auto &d : {dead, mine, init, other}) {
        fs::create_directory(d);
        write_file(d / "left.1.so", "x");
    }
    {
        PluginRegistry registry(test_host_api(), shadow_parent.path());
        EXPECT_FALSE(fs::exists(dead));
        EXPECT_TRUE(fs::exists(mine));
        EXPECT_TRUE(fs::exists(init));
        EXPECT_TRUE(fs::exists(other));
        EXPECT_TRUE(fs::exists(registry.shadow_dir()));
    }
    EXPECT_EQ(remove_stale_shadow_dirs(shadow_parent.path()), 0u);
}

TEST_F(PluginRegistryTest, ReadersNeverSeeAHalfSwappedVersion) {
    PluginRegistry registry(test_host_api(), shadow_parent.path());
    const auto file = copy_in("throwing", "throwing.so");
    ASSERT_TRUE(registry.load(file).ok);
    std::atomic<bool> done{false};
    std::atomic<int> bad{0};
    std::atomic<long> served{0};
    std::vector<std::thread> readers;
    for (int i = 0; i < 2; ++i) {
        readers.emplace_back([&] {
            while (!done.load()) {
                const auto version = registry.current("throwing"); // pins it for this "session"
                if (!version || run_stream(*version, "boom", "x\n") != "X\n") ++bad;
                ++served;
            }
        });
    }
    for (int i = 0; i < 30; ++i) {
        const auto outcome = registry.load(file);
        EXPECT_TRUE(outcome.ok) << outcome.error;
        (void)registry.draining();
        (void)registry.stats();
    }
    done = true;
    for (auto &t : readers)
        t.join();
    EXPECT_EQ(bad.load(), 0);
    EXPECT_GT(served.load(), 0);
    EXPECT_TRUE(registry.wait_drained(10s));
    EXPECT_EQ(files_in(registry.shadow_dir()).size(), 1u);
}

// Design §3: repeated loads must keep loading and keep RSS flat. 1000 cycles
// take about two seconds; sanitized builds run 300 and skip the RSS bound
// (their allocators keep freed memory in quarantine on purpose).
TEST_F(PluginRegistryTest, SoakOfReloadsKeepsWorkingAndRssFlat) {
    PluginRegistry registry(test_host_api(), shadow_parent.path());
    const auto file = copy_in("throwing", "throwing.so");
    constexpr int warmup = 50;
#ifdef PORTICO_TEST_SANITIZED
    constexpr int cycles = 300;
#else
    constexpr int cycles = 1000;
#endif
    long rss_after_warmup = 0;
    const auto started = std::chrono::steady_clock::now();
    for (int i = 1; i <= cycles; ++i) {
        auto outcome = registry.load(file);
        ASSERT_TRUE(outcome.ok) << "cycle " << i << ": " << outcome.error;
        outcome.replaced.reset(); // the caller's pin on the old version
        if (i % 25 == 0) {
            ASSERT_EQ(run_stream(*outcome.version, "boom", "soak\n"), "SOAK\n");
        }
        if (i == warmup) {
            ASSERT_TRUE(registry.wait_drained(10s));
            rss_after_warmup = rss_kb();
        }
    }
    ASSERT_TRUE(registry.wait_drained(10s));
    const long rss_end = rss_kb();
    const auto stats = registry.stats();
    EXPECT_EQ(stats.loads_ok, static_cast<uint64_t>(cycles));
    EXPECT_EQ(stats.unloads, static_cast<uint64_t>(cycles - 1));
    EXPECT_EQ(stats.unload_leaks, 0u);
    EXPECT_EQ(files_in(registry.shadow_dir()).size(), 1u);
    const auto elapsed =
        std::chrono::duration_cast<std::chrono::milliseconds>(std::chrono::steady_clock::now() - started);
    RecordProperty("rss_growth_kb", static_cast<int>(rss_end - rss_after_warmup));
    RecordProperty("elapsed_ms", static_cast<int>(elapsed.count()));
#ifndef PORTICO_TEST_SANITIZED
    EXPECT_LT(rss_end - rss_after_warmup, 4 * 1024) << "RSS grew from " << rss_after_warmup << " kB to " << rss_end
                                                    << " kB over " << (cycles - warmup) << " reloads";
#endif
}

} // namespace
} // namespace portico::host
