// ExternalTool.h — real client programs (redis-cli, curl, cmake) run by
// tests: found in $PATH, run to completion with a deadline, output kept.
// A missing tool fails the test with the Debian package to install; it is
// never a silent skip.
#pragma once

#include "harness/Deadline.h"
#include "harness/ExitStatus.h"

#include <filesystem>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace portico::test {

// `name` as found in $PATH, or nullopt.
std::optional<std::filesystem::path> find_in_path(std::string_view name);

// `name` as found in $PATH; throws HarnessError naming `debian_package` (which
// `make deps` installs) when it is missing.
std::filesystem::path require_tool(std::string_view name, std::string_view debian_package);

struct ToolResult {
    ExitStatus status;
    std::string output; // stdout and stderr interleaved
    // "`cmdline` exited with …; output: …" for failure messages.
    std::string describe() const;
    std::string command_line;
};

// Runs `program ARGS…` (stdin /dev/null) until it ends; one still running
// after `timeout` is killed and reported as ExitStatus::still_running().
ToolResult run_tool(const std::filesystem::path &program, const std::vector<std::string> &args, Millis timeout = 30s);

} // namespace portico::test
