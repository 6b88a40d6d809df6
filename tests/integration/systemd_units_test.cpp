// systemd_units_test.cpp — the installed portico.service and portico.socket
// as systemd reads them: `systemd-analyze verify` accepts both without a
// warning, the hardening keeps `systemd-analyze security` low, and the
// command the service runs accepts the config installed next to it.
//
// The units are installed with `--prefix <tmp>/usr`, not into a DESTDIR:
// verify checks that ExecStart's binary exists at the path the unit names
// and resolves the unit's dependencies (sysinit.target, ...) among this
// machine's units; `--root=DESTDIR` would find neither there.
#include "harness/ExternalTool.h"
#include "harness/InstallLayout.h"
#include "harness/TempDir.h"

#include <gtest/gtest.h>

#include <filesystem>
#include <fstream>
#include <optional>
#include <sstream>
#include <string>
#include <vector>

namespace portico::test {
namespace {

namespace fs = std::filesystem;

class SystemdUnits : public ::testing::Test {
protected:
    void SetUp() override {
        analyze_ = find_in_path("systemd-analyze");
        if (!analyze_)
            GTEST_SKIP() << "systemd-analyze is not in $PATH (Debian package 'systemd', in the Makefile's PACKAGES)";
        install_at_prefix(layout_.prefix(), "daemon");
    }

    ToolResult analyze(const std::vector<std::string> &args) const { return run_tool(*analyze_, args, 60s); }
    fs::path unit(const std::string &name) const { return layout_.unit_dir() / name; }

    TempDir dir_{"portico-units"};
    InstallLayout layout_ = InstallLayout::at_prefix(dir_ / "usr");
    std::optional<fs::path> analyze_;
};

// The ExecStart= command line of `unit`, split at spaces.
std::vector<std::string> exec_start(const fs::path &unit) {
    std::ifstream in(unit);
    for (std::string line; std::getline(in, line);) {
        if (!line.starts_with("ExecStart=")) continue;
        std::istringstream words(line.substr(10));
        std::vector<std::string> argv;
        for (std::string word; words >> word;)
            argv.push_back(word);
        return argv;
    }
    return {};
}

TEST_F(SystemdUnits, VerifyAcceptsTheServiceAndTheSocketWithoutAWarning) {
    const auto result = analyze({"verify", unit("portico.service").string(), unit("portico.socket").string()});
    EXPECT_EQ(result.status, ExitStatus::exited(0)) << result.describe();
    // verify exits 0 on an unknown key or a bad value too; it only prints them.
    EXPECT_EQ(result.output, "") << result.describe();
}

TEST_F(SystemdUnits, HardeningKeepsTheExposureScoreAtMostTwo) {
    // --threshold is in tenths: the exit status is non-zero above 2.0 ("OK").
    const auto result = analyze({"security", "--offline=true", "--threshold=20", unit("portico.service").string()});
    EXPECT_EQ(result.status, ExitStatus::exited(0)) << result.describe();
    EXPECT_NE(result.output.find("Overall exposure level for portico.service"), std::string::npos) << result.output;
}

TEST_F(SystemdUnits, TheServiceCommandChecksOkOnTheConfigInstalledAtItsPrefix) {
    std::vector<std::string> argv = exec_start(unit("portico.service"));
    ASSERT_GE(argv.size(), 3u) << "no ExecStart=BINARY --config FILE in " << unit("portico.service");
    EXPECT_EQ(argv[0], layout_.binary().string());
    EXPECT_EQ(argv[2], layout_.config().string());
    argv.push_back("--check");
    const fs::path binary = argv[0];
    argv.erase(argv.begin());
    const auto result = run_tool(binary, argv);
    EXPECT_EQ(result.status, ExitStatus::exited(0)) << result.describe();
    EXPECT_NE(result.output.find("OK: " + layout_.config().string()), std::string::npos) << result.output;
}

} // namespace
} // namespace portico::test
