// cli_test.cpp — one-shot uses of the binary: --check (every error of a
// config in one run, one format, nothing else on stderr; files the config
// names that are not plain files refused at once), --version, --help and
// the admin commands' --help.
#include "harness/ConfigBuilder.h"
#include "harness/Paths.h"
#include "harness/PluginDir.h"
#include "harness/PorticoCommand.h"
#include "harness/TempDir.h"
#include "harness/TlsCerts.h"

#include <gtest/gtest.h>

#include <fstream>
#include <regex>
#include <sstream>

#include <sys/stat.h>

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

// Lines of `output` that are not empty.
std::vector<std::string> lines_of(const std::string &output) {
    std::vector<std::string> lines;
    std::istringstream in(output);
    for (std::string line; std::getline(in, line);)
        if (!line.empty()) lines.push_back(line);
    return lines;
}

TEST(Cli, CheckReportsSchemaAndHandlerErrorsInOneRunInOneFormat) {
    TempDir dir;
    ConfigBuilder config;
    config.plugin_dir(make_plugin_dir(dir, {shipped_plugin("upper")}));
    config.service("good", "upper.upper");
    config.service("typo", "upper.upper").option("max_conection", "5");
    config.service("nohandler", "upper.shout");
    const auto file = dir.write_file("portico.yaml", config.yaml());
    const auto result = run_portico({"--config", file.string(), "--check"});
    EXPECT_EQ(result.status, ExitStatus::exited(2)) << result.output;
    const std::vector<std::string> lines = lines_of(result.output);
    // The unknown key, the missing handler, then the summary: nothing else,
    // each line "portico: FILE…".
    ASSERT_EQ(lines.size(), 3u) << result.output;
    const std::string prefix = "portico: " + file.string() + ":";
    for (const std::string &line : lines)
        EXPECT_TRUE(line.starts_with(prefix)) << line;
    EXPECT_TRUE(std::regex_search(lines[0], std::regex(R"(:[0-9]+:[0-9]+: services\[1\]\.max_conection: unknown key)")))
        << lines[0];
    EXPECT_TRUE(std::regex_search(lines[1], std::regex(R"(:[0-9]+:[0-9]+: services\[2\]\.handler: .*upper\.shout)")))
        << lines[1];
    EXPECT_EQ(lines[2], "portico: " + file.string() + ": 2 error(s); the config cannot run") << result.output;
}

TEST(Cli, CheckPrintsOnlyOkForAGoodConfig) {
    TempDir dir;
    const auto config = write_config(dir, "upper.upper");
    const auto result = run_portico({"--config", config.string(), "--check"});
    EXPECT_EQ(result.status, ExitStatus::exited(0)) << result.output;
    const std::vector<std::string> lines = lines_of(result.output);
    ASSERT_EQ(lines.size(), 1u) << "info log lines on a --check that found nothing: " << result.output;
    EXPECT_TRUE(lines[0].starts_with("OK: ")) << result.output;
}

// A TLS file that is a FIFO nobody writes, an endless device or a huge file:
// each an error at once naming the file, never a hang or a read into memory.
TEST(Cli, CheckRefusesTlsFilesThatAreNotPlainFilesAtOnce) {
    TempDir dir;
    const TlsCerts certs(dir);
    const std::filesystem::path fifo = dir / "certs/fifo.key";
    ASSERT_EQ(::mkfifo(fifo.c_str(), 0600), 0);
    const std::filesystem::path huge = dir / "certs/huge.pem";
    std::ofstream(huge).flush();
    std::filesystem::resize_file(huge, std::uintmax_t{8} << 30); // sparse: no disk used
    struct Case {
        std::string tls;
        std::string expected;
    };
    const std::vector<Case> cases{
        {"{cert: certs/server-one.pem, key: certs/fifo.key}",
         "services[0].tls.key: key file " + fifo.string() +
             ": cannot read it: it is a FIFO (named pipe), not a regular file; name a file"},
        {"{cert: /dev/zero, key: certs/server-one.key}",
         "services[0].tls.cert: certificate file /dev/zero: cannot read it: it is a character device, not a regular "
         "file; name a file"},
        {"{cert: certs/huge.pem, key: certs/server-one.key}",
         "services[0].tls.cert: certificate file " + huge.string() +
             ": cannot read it: it is larger than the limit of 1 MiB; is this the right file?"},
    };
    for (const Case &c : cases) {
        SCOPED_TRACE(c.tls);
        ConfigBuilder config;
        config.plugin_dir(make_plugin_dir(dir, {shipped_plugin("upper")}));
        config.service("upper", "upper.upper").option("tls", c.tls);
        const auto file = dir.write_file("portico.yaml", config.yaml());
        const auto result = run_portico({"--config", file.string(), "--check"});
        EXPECT_EQ(result.status, ExitStatus::exited(2)) << result.output;
        EXPECT_NE(result.output.find(c.expected), std::string::npos) << result.output;
    }
}

TEST(Cli, AConfigFileOverTheCapIsRefusedNamingTheCap) {
    TempDir dir;
    const auto file = write_config(dir, "upper.upper");
    std::filesystem::resize_file(file, std::uintmax_t{64} << 20); // sparse
    const auto result = run_portico({"--config", file.string(), "--check"});
    EXPECT_EQ(result.status, ExitStatus::exited(2)) << result.output;
    EXPECT_NE(result.output.find(file.string() + ": cannot read config file: it is larger than the limit of 4 MiB"),
              std::string::npos)
        << result.output;
}

TEST(Cli, AdminCommandsHaveHelp) {
    for (const std::string command : {"status", "reload"}) {
        SCOPED_TRACE(command);
        for (const std::string flag : {"--help", "-h"}) {
            const auto result = run_portico({command, flag});
            EXPECT_EQ(result.status, ExitStatus::exited(0)) << result.output;
            EXPECT_NE(result.output.find("usage: portico status"), std::string::npos) << result.output;
            EXPECT_NE(result.output.find("portico reload [plugins|config|all]"), std::string::npos) << result.output;
        }
    }
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
    // SIGHUP is a full reload, not only of plugins.
    EXPECT_NE(result.output.find("SIGHUP re-reads the config"), std::string::npos) << result.output;
}

TEST(Cli, UnknownOptionIsAnError) {
    const auto result = run_portico({"--no-such-option"});
    EXPECT_FALSE(result.status.is_running());
    EXPECT_NE(result.status, ExitStatus::exited(0)) << result.output;
    EXPECT_NE(result.output.find("--no-such-option"), std::string::npos) << result.output;
}

} // namespace
} // namespace portico::test
