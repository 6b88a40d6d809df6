// PorticoProcess.cpp — starting the daemon, reading its log and its ports.
#include "harness/PorticoProcess.h"

#include "harness/HarnessError.h"
#include "harness/Paths.h"

#include <gtest/gtest.h>

#include <exception>
#include <fstream>
#include <iostream>
#include <sstream>

namespace portico::test {

namespace {

std::vector<std::string> with_config(const std::filesystem::path &config, std::vector<std::string> extra) {
    std::vector<std::string> args{"--config", config.string()};
    args.insert(args.end(), extra.begin(), extra.end());
    return args;
}

bool line_has_all(std::string_view line, std::initializer_list<std::string_view> parts) {
    for (auto part : parts)
        if (line.find(part) == std::string_view::npos) return false;
    return true;
}

} // namespace

std::vector<std::string> lines_containing(const std::string &text, std::initializer_list<std::string_view> parts) {
    std::vector<std::string> found;
    std::istringstream in(text);
    for (std::string line; std::getline(in, line);)
        if (line_has_all(line, parts)) found.push_back(line);
    return found;
}

PorticoProcess::PorticoProcess(const TempDir &dir, std::string_view yaml, std::vector<std::string> extra_args,
                               const std::filesystem::path &binary)
    : config_path_(dir.write_file("portico.yaml", yaml)), yaml_(yaml),
      child_(binary.empty() ? portico_binary() : binary, with_config(config_path_, std::move(extra_args))) {}

PorticoProcess::~PorticoProcess() {
    child_.kill();
    // A harness call that threw (a timeout) fails the test only once the
    // exception has left the test body, after this object is gone.
    if (::testing::Test::HasFailure() || std::uncaught_exceptions() > 0) {
        std::cerr << "\n---- portico config " << config_path_.string() << " ----\n"
                  << yaml_ << "\n---- portico log (pid " << child_.pid() << ", " << child_.wait_exit(0ms) << ") ----\n"
                  << child_.output() << "\n---- end of portico log ----\n";
    }
}

bool PorticoProcess::wait_ready(Millis timeout) {
    return wait_for_log("portico ready", timeout);
}

std::map<std::string, std::uint16_t> PorticoProcess::ports() const {
    static const std::regex listening(R"(service '([^']+)' listening on (?:\[[^\]]*\]|[^\s:]+):(\d+))");
    std::map<std::string, std::uint16_t> found;
    const std::string text = log_text();
    for (auto it = std::sregex_iterator(text.begin(), text.end(), listening); it != std::sregex_iterator(); ++it)
        found[(*it)[1].str()] = static_cast<std::uint16_t>(std::stoul((*it)[2].str()));
    return found;
}

std::uint16_t PorticoProcess::port(std::string_view service) const {
    const auto all = ports();
    if (const auto it = all.find(std::string(service)); it != all.end()) return it->second;
    std::string known;
    for (const auto &[name, port] : all)
        known += " '" + name + "'=" + std::to_string(port);
    throw HarnessError(
        "PorticoProcess: no \"service '" + std::string(service) +
        "' listening on HOST:PORT\" line in the log; services seen:" + (known.empty() ? std::string(" none") : known));
}

bool PorticoProcess::wait_for_log(std::string_view substring, Millis timeout) {
    return child_.wait_for_output([&](const std::string &text) { return text.find(substring) != std::string::npos; },
                                  timeout);
}

std::optional<std::vector<std::string>> PorticoProcess::wait_for_log(const std::regex &pattern, Millis timeout) {
    std::optional<std::vector<std::string>> groups;
    child_.wait_for_output(
        [&](const std::string &text) {
            std::smatch m;
            if (!std::regex_search(text, m, pattern)) return false;
            groups.emplace();
            for (const auto &g : m)
                groups->push_back(g.str());
            return true;
        },
        timeout);
    return groups;
}

std::optional<std::string> PorticoProcess::wait_for_log_line(std::initializer_list<std::string_view> parts,
                                                             Millis timeout) {
    std::optional<std::string> line;
    child_.wait_for_output(
        [&](const std::string &text) {
            const auto found = lines_containing(text, parts);
            if (found.empty()) return false;
            line = found.front();
            return true;
        },
        timeout);
    return line;
}

std::size_t PorticoProcess::count_log_lines(std::initializer_list<std::string_view> parts) const {
    return lines_containing(log_text(), parts).size();
}

void PorticoProcess::rewrite_config(std::string_view yaml) const {
    std::ofstream out(config_path_, std::ios::trunc);
    out << yaml;
    if (!out.flush()) throw HarnessError("cannot rewrite " + config_path_.string());
}

std::string peer_of(const TcpClient &client) {
    return "peer 127.0.0.1:" + std::to_string(client.local_port()) + ":";
}

} // namespace portico::test
