// sdk_template_test.cpp — a plugin author's first hour, end to end: install
// the SDK with `cmake --install`, build sdk/template out of tree against it
// with find_package(Portico), serve it, then edit, rebuild, drop the new .so
// in and watch the running host pick it up.
#include "harness/ConfigBuilder.h"
#include "harness/ExternalTool.h"
#include "harness/PorticoProcess.h"
#include "harness/TcpClient.h"
#include "harness/TempDir.h"

#include <gtest/gtest.h>

#include <csignal>
#include <filesystem>
#include <fstream>
#include <sstream>
#include <string>

namespace portico::test {
namespace {

namespace fs = std::filesystem;

const fs::path cmake = PORTICO_CMAKE_COMMAND;

void run_or_throw(const std::vector<std::string> &args, Millis timeout = 120s) {
    const ToolResult result = run_tool(cmake, args, timeout);
    if (result.status != ExitStatus::exited(0)) throw std::runtime_error(result.describe());
}

std::string read_file(const fs::path &file) {
    std::ifstream in(file);
    std::stringstream text;
    text << in.rdbuf();
    return text.str();
}

// Replaces the one occurrence of `from` in `file`; throws if there is none.
void edit(const fs::path &file, const std::string &from, const std::string &to) {
    std::string text = read_file(file);
    const auto at = text.find(from);
    if (at == std::string::npos) throw std::runtime_error(file.string() + " no longer contains \"" + from + "\"");
    text.replace(at, from.size(), to);
    std::ofstream(file, std::ios::trunc) << text;
}

// Copies a freshly built plugin into the host's folder the safe way: write
// a file the host ignores, then rename it over the old one.
void drop_in(const fs::path &built, const fs::path &plugin_dir) {
    const fs::path partial = plugin_dir / (built.filename().string() + ".partial");
    fs::copy_file(built, partial, fs::copy_options::overwrite_existing);
    fs::rename(partial, plugin_dir / built.filename());
}

TEST(SdkTemplate, InstalledSdkBuildsTheTemplateOutOfTreeAndTheHostServesAndReloadsIt) {
    TempDir dir("portico-sdk");
    const fs::path prefix = dir / "prefix";
    const fs::path source = dir / "hello-src";
    const fs::path build = dir / "hello-build";

    run_or_throw({"--install", PORTICO_BUILD_DIR, "--component", "sdk", "--prefix", prefix.string()});
    ASSERT_TRUE(fs::exists(prefix / "include/portico/portico.h"));
    ASSERT_TRUE(fs::exists(prefix / "include/portico/portico.hpp"));
    ASSERT_FALSE(fs::exists(prefix / "bin")) << "the sdk component installs the SDK only";

    fs::copy(fs::path(PORTICO_SOURCE_DIR) / "sdk/template", source, fs::copy_options::recursive);
    run_or_throw({"-S", source.string(), "-B", build.string(), "-DCMAKE_BUILD_TYPE=Release",
                  "-DCMAKE_PREFIX_PATH=" + prefix.string(), std::string("-DCMAKE_CXX_COMPILER=") + PORTICO_CXX_COMPILER});
    run_or_throw({"--build", build.string()});
    ASSERT_TRUE(fs::exists(build / "hello.so")) << "portico_add_plugin(hello ...) should produce hello.so";

    const fs::path plugins = dir.subdir("plugins");
    drop_in(build / "hello.so", plugins);
    ConfigBuilder config;
    config.plugin_dir(plugins);
    config.service("hello", "hello.hello").setting("greeting", "Hi");
    PorticoProcess host(dir, config.yaml());
    ASSERT_TRUE(host.wait_ready());
    {
        TcpClient client(host.port("hello"));
        client.send("world\n");
        EXPECT_EQ(client.read_line(), "Hi, world\n");
    }

    // The author edits the plugin, rebuilds and drops the new build in.
    edit(source / "hello.cpp", "\"1.0.0\"", "\"2.0.0\"");
    edit(source / "hello.cpp", "greeting + \", \"", "greeting + \" again, \"");
    run_or_throw({"--build", build.string()});
    drop_in(build / "hello.so", plugins);
    host.send_signal(SIGHUP);
    ASSERT_TRUE(host.wait_for_log_line({"service 'hello' now uses hello 2.0.0"}, 10s));

    TcpClient client(host.port("hello"));
    client.send("world\n");
    EXPECT_EQ(client.read_line(), "Hi again, world\n");
}

} // namespace
} // namespace portico::test
