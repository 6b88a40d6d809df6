// PluginLoader.h — turns a plugin file into a loaded, initialised
// PluginVersion: verify the bytes, copy them to a fresh shadow file, dlopen
// the copy RTLD_NOW | RTLD_LOCAL, check the descriptor, run init. Every
// refusal is one sentence that starts with the file's path.
#pragma once

#include "plugin/PluginVersion.h"
#include "portico/portico.h"

#include <cstdint>
#include <filesystem>
#include <memory>
#include <string>

namespace portico::host {

// One dlopen'ed shadow copy. Destruction runs the plugin's unload hook (once
// init has been called), dlcloses, and removes the shadow file. Not copyable.
class LoadedLibrary {
public:
    // Takes ownership of an already written shadow file; opens nothing yet.
    explicit LoadedLibrary(std::filesystem::path shadow_file);
    ~LoadedLibrary();
    LoadedLibrary(const LoadedLibrary &) = delete;
    LoadedLibrary &operator=(const LoadedLibrary &) = delete;

    // dlopen(RTLD_NOW | RTLD_LOCAL). Returns "" or dlerror()'s text.
    std::string open();
    // The address of `name` if this object itself defines it (not one of its
    // dependencies), else nullptr.
    void *own_symbol(const char *name) const;
    // Called just before init: from then on destruction calls `hook` first.
    void arm_unload_hook(void (*hook)(void)) { unload_hook_ = hook; }

    const std::filesystem::path &shadow_file() const { return shadow_file_; }
    void *handle() const { return handle_; }

private:
    std::filesystem::path shadow_file_;
    void *handle_ = nullptr;
    void (*unload_hook_)(void) = nullptr;
};

struct LoadResult {
    std::unique_ptr<PluginVersion> version; // set on success
    std::string error;                      // set on failure: "<file>: <reason>"
};

// Loads `file` as generation `generation`, its shadow copy written to
// `<shadow_dir>/<stem>.<generation>.so`. `api` is handed to the plugin's init
// and must outlive the version. On failure nothing is left behind: the copy
// is closed and deleted.
LoadResult load_plugin_version(const std::filesystem::path &file, const std::filesystem::path &shadow_dir,
                               uint64_t generation, const portico_host_api *api);

// Hex SHA-256 of `data` (Poco::SHA2Engine).
std::string sha256_hex(const void *data, size_t len);

} // namespace portico::host
