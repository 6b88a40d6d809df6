// PorticoProcess.h — the real `portico` daemon as a test sees it: started
// with a config written to a temp dir, its log searchable while it runs, the
// port of each service read from its "listening on" lines. If the test has
// failed by the time the object goes away, the config and the whole log are
// printed (also when a harness call throws out of the test body), so a CI
// failure can be read without rerunning it.
#pragma once

#include "harness/ChildProcess.h"
#include "harness/Deadline.h"
#include "harness/ExitStatus.h"
#include "harness/TcpClient.h"
#include "harness/TempDir.h"

#include <cstdint>
#include <filesystem>
#include <initializer_list>
#include <map>
#include <optional>
#include <regex>
#include <string>
#include <string_view>
#include <vector>

namespace portico::test {

class PorticoProcess {
public:
    static constexpr Millis kStartTimeout = 10s;

    // Writes `yaml` to dir/portico.yaml and starts `portico --config <it>`
    // followed by `extra_args`. Does not wait: call wait_ready() to serve, or
    // wait_exit() when the config is meant to be refused. `binary`: another
    // portico executable than the build's (the upgrade tests' copy).
    PorticoProcess(const TempDir &dir, std::string_view yaml, std::vector<std::string> extra_args = {},
                   const std::filesystem::path &binary = {});
    ~PorticoProcess();
    PorticoProcess(const PorticoProcess &) = delete;
    PorticoProcess &operator=(const PorticoProcess &) = delete;

    // Waits for "portico ready". False if the process exits or the timeout
    // passes first.
    bool wait_ready(Millis timeout = kStartTimeout);

    // The port service `name` listens on, from its "service 'NAME' listening
    // on HOST:PORT" log line. Throws HarnessError if there is none (yet).
    std::uint16_t port(std::string_view service) const;
    // Every service's port as logged so far.
    std::map<std::string, std::uint16_t> ports() const;

    std::string log_text() const { return child_.output(); }
    bool wait_for_log(std::string_view substring, Millis timeout);
    // The first match's groups (group 0 = whole match), or nullopt on timeout.
    std::optional<std::vector<std::string>> wait_for_log(const std::regex &pattern, Millis timeout);
    // Waits for one log line containing every one of `parts`; returns it.
    std::optional<std::string> wait_for_log_line(std::initializer_list<std::string_view> parts, Millis timeout);
    // How many log lines so far contain every one of `parts`.
    std::size_t count_log_lines(std::initializer_list<std::string_view> parts) const;

    // Replaces the config file with `yaml`; the host reads it at the next SIGHUP.
    void rewrite_config(std::string_view yaml) const;

    void send_signal(int signal) const { child_.send_signal(signal); }
    ExitStatus wait_exit(Millis timeout) { return child_.wait_exit(timeout); }
    bool running() { return child_.running(); }
    pid_t pid() const { return child_.pid(); }
    const std::filesystem::path &config_path() const { return config_path_; }

private:
    std::filesystem::path config_path_;
    std::string yaml_;
    ChildProcess child_;
};

// The log lines of `text` that contain every one of `parts`.
std::vector<std::string> lines_containing(const std::string &text, std::initializer_list<std::string_view> parts);

// How the host's log names `client`'s connection: "peer 127.0.0.1:PORT:".
std::string peer_of(const TcpClient &client);

} // namespace portico::test
