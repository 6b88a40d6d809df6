// PluginLoader.h — turns a plugin file into a loaded, initialised
// PluginVersion: verify the bytes, copy them to a fresh shadow file, dlopen
// the copy RTLD_NOW | RTLD_LOCAL, check the descriptor, run init. Every
// refusal is one sentence that starts with the file's path.
#pragma once

#include "plugin/PluginCall.h"
#include "plugin/PluginVersion.h"
#include "portico/portico.h"

#include <chrono>
#include <cstdint>
#include <filesystem>
#include <memory>
#include <set>
#include <string>
#include <string_view>
#include <vector>

struct portico_registrar;

namespace portico::host {

// One dlopen'ed shadow copy. Destruction runs the plugin's unload hook (once
// init has been called), dlcloses, and removes the shadow file. Not copyable.
class LoadedLibrary {
public:
    // Takes ownership of an already written shadow file; opens nothing yet.
    // The unload hook runs through `caller`: one that misses its deadline
    // leaves the library mapped (its code may still run) and the copy on disk.
    LoadedLibrary(std::filesystem::path shadow_file, PluginCaller caller);
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
    const PluginCaller &caller() const { return caller_; }

private:
    std::filesystem::path shadow_file_;
    PluginCaller caller_;
    void *handle_ = nullptr;
    void (*unload_hook_)(void) = nullptr;
};

struct LoadResult {
    std::unique_ptr<PluginVersion> version; // set on success
    std::string error;                      // set on failure: "<file>: <reason>"
    std::vector<std::string> warnings;      // loaded, but with these caveats (sentences naming the file)
};

// How carefully a file is loaded (plugins.strict, plugins.call_timeout).
struct LoadPolicy {
    // Refuse, rather than only warn about, a plugin that cannot be unloaded
    // (STB_GNU_UNIQUE symbols).
    bool strict = false;
    // Runs init and unload with their deadline; shared by every load so
    // that its stuck() counts them all.
    PluginCaller caller{std::chrono::milliseconds(5000)};
    // The portico binary to run `__check-plugin` with before a copy is
    // loaded in-process; empty: no check process (unit tests, workers).
    std::filesystem::path check_program;
    // Plugin names only mode-process services use: the check process runs
    // their init and describes them, and the host never loads them (the
    // version keeps the shadow copy for the workers). Needs check_program.
    std::set<std::string> described;
};

// Loads `file` as generation `generation`, its shadow copy written to
// `<shadow_dir>/<stem>.<generation>.so`. `api` is handed to the plugin's init
// and must outlive the version. On failure nothing is left behind: the copy
// is closed and deleted (unless init is stuck: then its copy stays mapped).
LoadResult load_plugin_version(const std::filesystem::path &file, const std::filesystem::path &shadow_dir,
                               uint64_t generation, const portico_host_api *api, const LoadPolicy &policy = {});

// What a check process does with a copy: dlopen it, find its entry point and
// check the descriptor; "" when all is well (`desc`, if given, set), else
// the reason. The library stays open (the process exits right after).
std::string probe_plugin_copy(const std::filesystem::path &copy, const portico_plugin_desc **desc = nullptr);

// Why a plugin's init that returned `rc` with `registrar` filled in is
// refused, or "" when it registered handlers and succeeded.
std::string init_refusal(std::string_view plugin_name, const portico_registrar &registrar, int rc);

// Hex SHA-256 of `data` (Poco::SHA2Engine).
std::string sha256_hex(const void *data, size_t len);

} // namespace portico::host
