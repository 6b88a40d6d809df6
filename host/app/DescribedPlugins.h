// DescribedPlugins.h — which plugins the host leaves to a check process
// instead of loading them: those that only mode-process services use.
#pragma once

#include "config/Config.h"

#include <set>
#include <string>

namespace portico::host {

// Plugin names every service of `config` that uses them runs in mode
// process (a plugin no service uses is loaded as before).
std::set<std::string> process_only_plugins(const Config &config);

} // namespace portico::host
