// PluginCheck.h — loads a new plugin copy first in a short-lived child
// process (`portico __check-plugin COPY`, a fork+exec of the host itself),
// so a library whose constructors abort or crash kills that child, not the
// host. The child runs the constructors and the descriptor checks. For a
// plugin only mode-process services use, it also runs init and describes
// the handlers (PluginManifest.h): the master then never loads that file,
// and an init that crashes or hangs kills only the child. Other plugins'
// init runs in the host under a deadline instead (see PluginCall.h): init
// may bind ports or write files, so it runs once, where the plugin serves.
#pragma once

#include "plugin/PluginManifest.h"
#include "portico/portico.h"

#include <chrono>
#include <filesystem>
#include <optional>
#include <set>
#include <string>
#include <string_view>

namespace portico::host {

inline constexpr std::string_view check_plugin_command = "__check-plugin";

struct CheckOutcome {
    // Why the copy is refused, e.g. "crashed while loading (SIGABRT) in a
    // check process"; nullopt when it passed.
    std::optional<std::string> problem;
    // Set when the copy is one of `init_for` and its init ran in the child.
    std::optional<PluginManifest> manifest;
};

// Runs `program __check-plugin shadow_copy [--init-for NAME]...` and waits
// for it: `timeout` for the constructors and checks, and `timeout` again
// for init once it began (then kills it). When the copy's plugin name is in
// `init_for`, the child runs init too and the outcome carries its manifest.
CheckOutcome check_plugin_in_child(const std::filesystem::path &program, const std::filesystem::path &shadow_copy,
                                   std::chrono::milliseconds timeout, const std::set<std::string> &init_for = {});

bool is_check_plugin_command(std::string_view first_arg);
// The child's side: dlopens argv[2], checks its entry point and descriptor,
// runs init (with `api`) when the plugin is named by an --init-for, and
// writes the manifest lines to fd 3. Exit 0 when it passed, 1 when refused,
// 2 on bad usage. Never returns (the copy belongs to the host: it is not
// closed, and the plugin's unload is not run).
[[noreturn]] void run_check_plugin_command(int argc, char **argv, const portico_host_api *api);

} // namespace portico::host
