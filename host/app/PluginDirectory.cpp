// PluginDirectory.cpp
#include "app/PluginDirectory.h"

#include <algorithm>
#include <system_error>

namespace portico::host {

PluginFileList list_plugin_files(const PluginsConfig &config) {
    namespace fs = std::filesystem;
    PluginFileList list;
    std::error_code ec;
    if (!fs::is_directory(config.dir, ec)) {
        list.problems.push_back("plugins.dir " + config.dir.string() + " is not a directory (" +
                                config.dir_pos.to_string() + "): create it or fix the path");
        return list;
    }
    if (!config.load.empty()) {
        for (const std::string &name : config.load) {
            const fs::path file = config.dir / name;
            if (fs::is_regular_file(file, ec)) list.files.push_back(file);
            else list.problems.push_back("plugins.load: " + file.string() + " does not exist");
        }
        return list;
    }
    for (const fs::directory_entry &entry : fs::directory_iterator(config.dir, ec)) {
        if (entry.path().extension() == ".so" && entry.is_regular_file(ec)) list.files.push_back(entry.path());
    }
    if (ec) list.problems.push_back("cannot list plugins.dir " + config.dir.string() + ": " + ec.message());
    std::sort(list.files.begin(), list.files.end());
    return list;
}

} // namespace portico::host
