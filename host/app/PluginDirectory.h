// PluginDirectory.h — which plugin files a config asks for: every *.so in
// plugins.dir, or the files listed in plugins.load, in a stable order.
#pragma once

#include "config/Config.h"

#include <filesystem>
#include <string>
#include <vector>

namespace portico::host {

struct PluginFileList {
    std::vector<std::filesystem::path> files;
    std::vector<std::string> problems; // e.g. a listed file that does not exist
};

PluginFileList list_plugin_files(const PluginsConfig &config);

} // namespace portico::host
