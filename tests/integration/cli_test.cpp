// cli_test.cpp — one-shot uses of the binary: --check, --version, --help.
#include "harness/ConfigBuilder.h"
#include "harness/Paths.h"
#include "harness/PluginDir.h"
#include "harness/PorticoCommand.h"
#include "harness/TempDir.h"

#include <gtest/gtest.h>

#include <fstream>
#include <regex>
#include <sstream>

namespace portico::test {
namespace {

std::filesystem::path write_config(const TempDir &dir, const std::string &handler) {
    ConfigBuilder config;
    config.plugin_dir(make_plugin_dir(dir, {shipped_plugin("upper"), shipped_plugin("echo")}));
    config.service("upper", handler);
    return dir.write_file("portico.yaml", config.yaml());
}

// The version CMake gives the project, read from the source rather than written here.
std::string project_version() {
    std::ifstream in(std::filesystem::path(PORTICO_SOURCE_DIR) / "CMakeLists.txt");
    std::stringstream text;
    text << in.rdbuf();
    std::smatch m;
    const std::string s = text.str();
    return std::regex_search(s, m, std::regex(R"(project\s*\(\s*Portico\s+VERSION\s+([0-9.]+))")) ? m[1].str() : "";
}

TEST(Cli, CheckAcceptsAGoodConfig) {
    TempDir dir;
    const auto config = write_config(dir, "upper.upper");
    for (const std::string flag : {"--config", "-c"}) {
        SCOPED_TRACE(flag);
        const auto result = run_portico({flag, config.string(), "--check"});
        EXPECT_EQ(result.status, ExitStatus::exited(0)) << result.output;
        EXPECT_NE(result.output.find("OK"), std::string::npos) << result.output;
    }
}

TEST(Cli, CheckRefusesAConfigWithAMissingHandler) {
    TempDir dir;
    const auto config = write_config(dir, "upper.nonexistent");
    const auto result = run_portico({"--config", config.string(), "--check"});
    EXPECT_EQ(result.status, ExitStatus::exited(2)) << result.output;
    EXPECT_NE(result.output.find("upper.nonexistent"), std::string::npos) << result.output;
    EXPECT_EQ(result.output.find("OK"), std::string::npos) << result.output;
}

TEST(Cli, CheckRefusesInvalidYaml) {
    TempDir dir;
    const auto config = dir.write_file("broken.yaml", "services: [ {name: upper\n");
    const auto result = run_portico({"--config", config.string(), "--check"});
    EXPECT_EQ(result.status, ExitStatus::exited(2)) << result.output;
    EXPECT_TRUE(std::regex_search(result.output, std::regex(R"(broken\.yaml:[0-9]+:[0-9]+)"))) << result.output;
}

TEST(Cli, MissingConfigFileIsAnErrorNamingIt) {
    TempDir dir;
    const auto missing = dir / "nowhere.yaml";
    const auto result = run_portico({"--config", missing.string()});
    EXPECT_FALSE(result.status.is_running()) << "portico started without a config file";
    EXPECT_NE(result.status, ExitStatus::exited(0)) << result.output;
    EXPECT_NE(result.output.find("nowhere.yaml"), std::string::npos) << result.output;
}

TEST(Cli, VersionPrintsTheProjectVersion) {
    const std::string version = project_version();
    ASSERT_FALSE(version.empty()) << "could not read the version from CMakeLists.txt";
    const auto result = run_portico({"--version"});
    EXPECT_EQ(result.status, ExitStatus::exited(0)) << result.output;
    EXPECT_NE(result.output.find(version), std::string::npos) << "expected " << version << " in: " << result.output;
}

TEST(Cli, HelpDescribesTheOptions) {
    const auto result = run_portico({"--help"});
    EXPECT_EQ(result.status, ExitStatus::exited(0)) << result.output;
    for (const char *option : {"--config", "--check", "--version"})
        EXPECT_NE(result.output.find(option), std::string::npos) << option << " missing from: " << result.output;
}

TEST(Cli, UnknownOptionIsAnError) {
    const auto result = run_portico({"--no-such-option"});
    EXPECT_FALSE(result.status.is_running());
    EXPECT_NE(result.status, ExitStatus::exited(0)) << result.output;
    EXPECT_NE(result.output.find("--no-such-option"), std::string::npos) << result.output;
}

} // namespace
} // namespace portico::test
