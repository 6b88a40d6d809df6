// InstalledHost.cpp — the installed config made runnable here, and the
// installed binary started on it.
#include "harness/InstalledHost.h"

#include "harness/ExternalTool.h"
#include "harness/HarnessError.h"
#include "harness/HttpClient.h"

#include <gtest/gtest.h>

#include <exception>
#include <fstream>
#include <iostream>
#include <regex>
#include <sstream>

namespace portico::test {

namespace fs = std::filesystem;

namespace {

std::string read_text(const fs::path &file) {
    std::ifstream in(file);
    if (!in) throw HarnessError("cannot read " + file.string());
    std::stringstream text;
    text << in.rdbuf();
    return text.str();
}

bool is_top_level_key(const std::string &line) {
    return !line.empty() && line[0] != ' ' && line[0] != '#' && line.find(':') != std::string::npos;
}

std::string installed_yaml_of(const InstallLayout &layout) {
    return read_text(layout.config());
}

} // namespace

std::string runnable_config(const std::string &installed_yaml, const InstallLayout &layout, std::uint16_t admin_port) {
    const std::string installed_plugins = layout.named_plugin_dir().string();
    static const std::regex loopback_listen(R"((listen:\s*)127\.0\.0\.1:\d+)");
    std::istringstream in(installed_yaml);
    std::string out;
    std::string section;
    bool moved_plugins = false;
    int listens = 0;
    for (std::string line; std::getline(in, line);) {
        if (is_top_level_key(line)) section = line.substr(0, line.find(':'));
        if (section == "plugins" && line.find("dir: " + installed_plugins) != std::string::npos) {
            line.replace(line.find(installed_plugins), installed_plugins.size(), layout.plugin_dir().string());
            moved_plugins = true;
        }
        if (std::smatch match; std::regex_search(line, match, loopback_listen)) {
            const std::string port = section == "admin" ? std::to_string(admin_port) : "0";
            line = match.prefix().str() + match[1].str() + "127.0.0.1:" + port + match.suffix().str();
            ++listens;
        }
        out += line + "\n";
    }
    if (!moved_plugins)
        throw HarnessError("the installed config has no \"dir: " + installed_plugins + "\" under plugins:\n" +
                           installed_yaml);
    if (listens == 0) throw HarnessError("the installed config listens on no 127.0.0.1 address:\n" + installed_yaml);
    return out;
}

InstalledHost::InstalledHost(const InstallLayout &layout, const TempDir &dir)
    : config_path_(dir.write_file("portico.yaml", runnable_config(installed_yaml_of(layout), layout, free_tcp_port()))),
      yaml_(read_text(config_path_)),
      child_(require_tool("env", "coreutils"),
             {"-C", "/", "PORTICO_CONFIG=" + config_path_.string(), layout.binary().string()}) {}

InstalledHost::~InstalledHost() {
    child_.kill();
    if (::testing::Test::HasFailure() || std::uncaught_exceptions() > 0) {
        std::cerr << "\n---- installed portico's config " << config_path_.string() << " ----\n"
                  << yaml_ << "\n---- its log ----\n"
                  << child_.output() << "\n---- end of log ----\n";
    }
}

bool InstalledHost::wait_ready(Millis timeout) {
    return child_.wait_for_output(
        [](const std::string &text) { return text.find("portico ready") != std::string::npos; }, timeout);
}

std::uint16_t InstalledHost::port(std::string_view service) const {
    const std::regex listening("service '" + std::string(service) + R"(' listening on (?:\[[^\]]*\]|[^\s:]+):(\d+))");
    const std::string text = child_.output();
    std::smatch match;
    if (!std::regex_search(text, match, listening))
        throw HarnessError("no \"service '" + std::string(service) + "' listening on\" line in the log:\n" + text);
    return static_cast<std::uint16_t>(std::stoul(match[1].str()));
}

} // namespace portico::test
