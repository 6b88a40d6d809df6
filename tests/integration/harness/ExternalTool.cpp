// ExternalTool.cpp — $PATH lookup and run-to-completion for client tools.
#include "harness/ExternalTool.h"

#include "harness/ChildProcess.h"
#include "harness/HarnessError.h"

#include <cstdlib>

#include <unistd.h>

namespace portico::test {

std::optional<std::filesystem::path> find_in_path(std::string_view name) {
    const char *path = std::getenv("PATH");
    std::string_view dirs = path ? path : "/usr/local/bin:/usr/bin:/bin";
    while (!dirs.empty()) {
        const std::size_t colon = dirs.find(':');
        const std::string_view dir = dirs.substr(0, colon);
        if (!dir.empty()) {
            const std::filesystem::path candidate = std::filesystem::path(dir) / name;
            if (::access(candidate.c_str(), X_OK) == 0) return candidate;
        }
        if (colon == std::string_view::npos) break;
        dirs.remove_prefix(colon + 1);
    }
    return std::nullopt;
}

std::filesystem::path require_tool(std::string_view name, std::string_view debian_package) {
    if (auto found = find_in_path(name)) return *found;
    throw HarnessError("required tool '" + std::string(name) + "' is not in $PATH: install the Debian package '" +
                       std::string(debian_package) + "' (`make deps` does, it is in the Makefile's PACKAGES)");
}

std::string ToolResult::describe() const {
    return "`" + command_line + "` " + status.describe() + "; output:\n" + output;
}

ToolResult run_tool(const std::filesystem::path &program, const std::vector<std::string> &args, Millis timeout) {
    ToolResult result;
    result.command_line = program.string();
    for (const auto &arg : args) result.command_line += " " + arg;
    ChildProcess child(program, args);
    result.status = child.wait_exit(timeout);
    if (result.status.is_running()) child.kill();
    result.output = child.output();
    return result;
}

} // namespace portico::test
