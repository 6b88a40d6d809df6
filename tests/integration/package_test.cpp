// package_test.cpp — `cpack -G DEB` from this build makes the .deb: its
// files (dpkg-deb -c), its metadata (dpkg-deb -I: Depends computed by
// dpkg-shlibdeps, /etc/portico as conffiles, maintainer scripts that create
// the portico user and enable the unit without starting it), and, unpacked
// with dpkg-deb -x, a binary that serves the seed exchange on the config
// it ships. One test: the package is built once (it takes a while).
#include "harness/ExternalTool.h"
#include "harness/HarnessError.h"
#include "harness/InstallLayout.h"
#include "harness/InstalledHost.h"
#include "harness/TcpClient.h"
#include "harness/TempDir.h"

#include <gtest/gtest.h>

#include <filesystem>
#include <string>
#include <vector>

namespace portico::test {
namespace {

namespace fs = std::filesystem;

ToolResult run_ok(const fs::path &program, const std::vector<std::string> &args, Millis timeout = 60s) {
    ToolResult result = run_tool(program, args, timeout);
    if (result.status != ExitStatus::exited(0)) throw HarnessError(result.describe());
    return result;
}

fs::path the_only_deb(const fs::path &folder) {
    std::vector<fs::path> debs;
    for (const auto &entry : fs::directory_iterator(folder))
        if (entry.path().extension() == ".deb") debs.push_back(entry.path());
    if (debs.size() != 1)
        throw HarnessError("expected one .deb in " + folder.string() + ", found " + std::to_string(debs.size()));
    return debs.front();
}

// The value of `field` in dpkg-deb -I's control listing (" Field: value").
std::string control_field(const std::string &info, const std::string &field) {
    const std::string key = "\n " + field + ": ";
    const auto at = info.find(key);
    if (at == std::string::npos) return {};
    const auto start = at + key.size();
    return info.substr(start, info.find('\n', start) - start);
}

TEST(Package, DebHoldsTheDaemonWithComputedDependsConffilesAndScriptsAndItsBinaryServes) {
    const fs::path dpkg_deb = require_tool("dpkg-deb", "dpkg");
    TempDir dir("portico-deb");
    run_ok(cpack_command(),
           {"-G", "DEB", "--config", (build_dir() / "CPackConfig.cmake").string(), "-B", (dir / "out").string()}, 240s);
    const fs::path deb = the_only_deb(dir / "out");
    const InstallLayout unpacked = InstallLayout::below_root(dir / "root");

    const std::string files = run_ok(dpkg_deb, {"-c", deb.string()}).output;
    for (const fs::path &path :
         {unpacked.named_binary(), unpacked.named_plugin_dir() / "upper.so", unpacked.named_plugin_dir() / "kv.so",
          unpacked.named_config(), unpacked.named_unit_dir() / "portico.service",
          unpacked.named_unit_dir() / "portico.socket", unpacked.named_doc_dir() / "deploy.md"})
        EXPECT_NE(files.find(" ." + path.string() + "\n"), std::string::npos) << path << " not in:\n" << files;

    const std::string info = run_ok(dpkg_deb, {"-I", deb.string()}).output;
    EXPECT_EQ(control_field(info, "Package"), "portico") << info;
    const std::string depends = control_field(info, "Depends");
    for (const char *needed : {"libpoco", "libyaml-cpp", "libstdc++6", "adduser"})
        EXPECT_NE(depends.find(needed), std::string::npos) << needed << " not in Depends: " << depends;
    for (const char *member : {"conffiles", "postinst", "prerm", "postrm"})
        EXPECT_NE(info.find(std::string(member)), std::string::npos) << member << " not in:\n" << info;

    EXPECT_EQ(run_ok(dpkg_deb, {"-I", deb.string(), "conffiles"}).output, installed_config().string() + "\n");
    const std::string postinst = run_ok(dpkg_deb, {"-I", deb.string(), "postinst"}).output;
    EXPECT_NE(postinst.find("adduser --system"), std::string::npos) << postinst;
    EXPECT_NE(postinst.find("deb-systemd-helper enable portico.service"), std::string::npos) << postinst;
    EXPECT_EQ(postinst.find("invoke start"), std::string::npos) << "the unit is enabled, not started:\n" << postinst;
    const std::string postrm = run_ok(dpkg_deb, {"-I", deb.string(), "postrm"}).output;
    EXPECT_NE(postrm.find("deb-systemd-helper purge portico.service"), std::string::npos) << postrm;

    run_ok(dpkg_deb, {"-x", deb.string(), unpacked.root().string()});
    InstalledHost host(unpacked, dir);
    ASSERT_TRUE(host.wait_ready()) << host.log_text();
    TcpClient client(host.port("upper"));
    client.send("Hello, Server!\n");
    EXPECT_EQ(client.read_line(), "HELLO, SERVER!\n");
}

} // namespace
} // namespace portico::test
