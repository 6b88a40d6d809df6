// PluginDir.h — a private plugin folder for one test, holding copies of just
// the plugins it names, so no test sees another's files or the build's.
#pragma once

#include "harness/TempDir.h"

#include <filesystem>
#include <initializer_list>

namespace portico::test {

// Copies each of `plugins` into dir/plugins and returns that folder.
inline std::filesystem::path make_plugin_dir(const TempDir &dir, std::initializer_list<std::filesystem::path> plugins) {
    const auto folder = dir.subdir("plugins");
    for (const auto &plugin : plugins) dir.copy_in(plugin, (std::filesystem::path("plugins") / plugin.filename()).string());
    return folder;
}

} // namespace portico::test
