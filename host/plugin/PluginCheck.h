// PluginCheck.h — loads a new plugin copy first in a short-lived child
// process (`portico __check-plugin COPY`, a fork+exec of the host itself),
// so a library whose constructors abort or crash kills that child, not the
// host. The child runs the constructors and the descriptor checks; it does
// not call init (init may bind ports or write files; the host runs it under
// a deadline instead, see PluginCall.h).
#pragma once

#include <chrono>
#include <filesystem>
#include <optional>
#include <string>
#include <string_view>

namespace portico::host {

inline constexpr std::string_view check_plugin_command = "__check-plugin";

// Runs `program __check-plugin shadow_copy` and waits for it up to
// `timeout` (then kills it). nullopt when the copy survived the checks,
// else why not, e.g. "crashed while loading (SIGABRT) in a check process".
std::optional<std::string> check_plugin_in_child(const std::filesystem::path &program,
                                                 const std::filesystem::path &shadow_copy,
                                                 std::chrono::milliseconds timeout);

bool is_check_plugin_command(std::string_view first_arg);
// The child's side: dlopens argv[2], checks its entry point and descriptor,
// prints the refusal on stdout. Exit 0 when it passed, 1 when refused, 2 on
// bad usage. Never returns (the copy belongs to the host: it is not closed).
[[noreturn]] void run_check_plugin_command(int argc, char **argv);

} // namespace portico::host
