// InstallLayout.cpp — the install layout from the build's macros, and the
// `cmake --install` runs that make it.
#include "harness/InstallLayout.h"

#include "harness/ExternalTool.h"
#include "harness/HarnessError.h"

#include <vector>

namespace portico::test {

namespace fs = std::filesystem;

namespace {

fs::path below(const fs::path &root, const fs::path &path) {
    return root.empty() ? path : root / path.relative_path();
}

void run_install(std::vector<std::string> env_args, const std::string &component, const fs::path &prefix) {
    // DESTDIR is read from the environment only: run cmake through env(1).
    std::vector<std::string> args = std::move(env_args);
    for (const auto &arg : {cmake_command().string(), std::string("--install"), build_dir().string()})
        args.push_back(arg);
    if (!prefix.empty()) {
        args.push_back("--prefix");
        args.push_back(prefix.string());
    }
    if (!component.empty()) {
        args.push_back("--component");
        args.push_back(component);
    }
    const ToolResult result = run_tool(require_tool("env", "coreutils"), args, 120s);
    if (result.status != ExitStatus::exited(0)) throw HarnessError(result.describe());
}

} // namespace

fs::path installed_config() {
    return PORTICO_INSTALLED_CONFIG;
}
fs::path build_dir() {
    return PORTICO_BUILD_DIR;
}
fs::path cmake_command() {
    return PORTICO_CMAKE_COMMAND;
}
fs::path cpack_command() {
    return PORTICO_CPACK_COMMAND;
}

InstallLayout::InstallLayout(fs::path root, fs::path named_prefix, fs::path named_config)
    : root_(std::move(root)), named_prefix_(std::move(named_prefix)), named_config_(std::move(named_config)),
      prefix_(below(root_, named_prefix_)), config_(below(root_, named_config_)) {}

InstallLayout InstallLayout::below_root(const fs::path &root) {
    return InstallLayout(root, PORTICO_INSTALL_PREFIX, installed_config());
}

InstallLayout InstallLayout::at_prefix(const fs::path &prefix) {
    return InstallLayout({}, prefix, prefix / PORTICO_INSTALL_SYSCONFDIR / "portico/portico.yaml");
}

fs::path InstallLayout::binary() const {
    return prefix_ / PORTICO_INSTALL_BINDIR / "portico";
}
fs::path InstallLayout::plugin_dir() const {
    return prefix_ / PORTICO_INSTALL_PLUGINDIR;
}
fs::path InstallLayout::unit_dir() const {
    return prefix_ / PORTICO_INSTALL_UNITDIR;
}
fs::path InstallLayout::doc_dir() const {
    return prefix_ / PORTICO_INSTALL_DOCDIR;
}
fs::path InstallLayout::include_dir() const {
    return prefix_ / PORTICO_INSTALL_INCLUDEDIR;
}
fs::path InstallLayout::named_binary() const {
    return named_prefix_ / PORTICO_INSTALL_BINDIR / "portico";
}
fs::path InstallLayout::named_plugin_dir() const {
    return named_prefix_ / PORTICO_INSTALL_PLUGINDIR;
}
fs::path InstallLayout::named_config() const {
    return named_config_;
}
fs::path InstallLayout::named_unit_dir() const {
    return named_prefix_ / PORTICO_INSTALL_UNITDIR;
}
fs::path InstallLayout::named_doc_dir() const {
    return named_prefix_ / PORTICO_INSTALL_DOCDIR;
}

void install_into(const fs::path &root, const std::string &component) {
    run_install({"DESTDIR=" + root.string()}, component, {});
}

void install_at_prefix(const fs::path &prefix, const std::string &component) {
    run_install({"-u", "DESTDIR"}, component, prefix);
}

} // namespace portico::test
