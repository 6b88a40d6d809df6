// sdk_c_template_test.cpp — a plugin author writing C (issue 15): the SDK
// installed with `cmake --install` builds sdk/template-c out of tree in a
// project that enables only C (no C++ compiler involved), optimised when no
// build type is given, and the host serves the result.
#include "harness/ConfigBuilder.h"
#include "harness/ExternalTool.h"
#include "harness/PorticoProcess.h"
#include "harness/TcpClient.h"
#include "harness/TempDir.h"

#include <gtest/gtest.h>

#include <filesystem>
#include <fstream>
#include <sstream>
#include <string>

namespace portico::test {
namespace {

namespace fs = std::filesystem;

ToolResult cmake(const std::vector<std::string> &args) {
    return run_tool(PORTICO_CMAKE_COMMAND, args, 120s);
}

std::string read_text(const fs::path &file) {
    std::ifstream in(file);
    std::stringstream text;
    text << in.rdbuf();
    return text.str();
}

TEST(SdkCTemplate, AC_OnlyProjectBuildsAgainstTheInstalledSdkAndTheHostServesIt) {
    TempDir dir("portico-sdk-c");
    const fs::path prefix = dir / "prefix";
    const fs::path source = dir / "hello-c-src";
    const fs::path build = dir / "hello-c-build";

    ToolResult step = cmake({"--install", PORTICO_BUILD_DIR, "--component", "sdk", "--prefix", prefix.string()});
    ASSERT_EQ(step.status, ExitStatus::exited(0)) << step.describe();
    ASSERT_TRUE(fs::exists(prefix / "share/portico/template-c/hello_c.c")) << "the C example is installed with the SDK";

    fs::copy(prefix / "share/portico/template-c", source, fs::copy_options::recursive);
    ASSERT_NE(read_text(source / "CMakeLists.txt").find("LANGUAGES C)"), std::string::npos)
        << "the example must be a C-only project";
    // No CMAKE_BUILD_TYPE and no C++ compiler: CXX stays disabled.
    step = cmake({"-S", source.string(), "-B", build.string(), "-DCMAKE_PREFIX_PATH=" + prefix.string(),
                  "-DCMAKE_CXX_COMPILER=/nonexistent/c++"});
    ASSERT_EQ(step.status, ExitStatus::exited(0)) << step.describe();
    EXPECT_NE(read_text(build / "CMakeCache.txt").find("CMAKE_BUILD_TYPE:STRING=Release"), std::string::npos)
        << "the template should default to an optimised build";
    step = cmake({"--build", build.string()});
    ASSERT_EQ(step.status, ExitStatus::exited(0)) << step.describe();
    ASSERT_TRUE(fs::exists(build / "hello_c.so"));

    const fs::path plugins = dir.subdir("plugins");
    fs::copy_file(build / "hello_c.so", plugins / "hello_c.so");
    ConfigBuilder config;
    config.plugin_dir(plugins);
    config.service("hello", "hello_c.hello").setting("greeting", "Hi");
    PorticoProcess host(dir, config.yaml());
    ASSERT_TRUE(host.wait_ready());
    TcpClient client(host.port("hello"));
    client.send("world\n");
    EXPECT_EQ(client.read_line(), "Hi, world\n");
}

} // namespace
} // namespace portico::test
