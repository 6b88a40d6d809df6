// PluginRegistry.h — the set of loaded plugins: which version of each is
// current, which older ones still drain, and the thread that unloads them.
// Loading a file never disturbs what is serving unless the new version is
// fully loaded, initialised and accepted; the swap is then atomic.
#pragma once

#include "plugin/PluginLoader.h"
#include "plugin/PluginVersion.h"
#include "portico/portico.h"

#include <chrono>
#include <cstdint>
#include <filesystem>
#include <functional>
#include <map>
#include <memory>
#include <mutex>
#include <optional>
#include <set>
#include <string>
#include <string_view>
#include <vector>

namespace portico::host {

class Unloader;

// Result of one load attempt.
struct LoadOutcome {
    std::filesystem::path file;
    bool ok = false;
    std::string error;                       // why it was refused: names the file and the reason
    std::shared_ptr<PluginVersion> version;  // the new current version when ok
    std::shared_ptr<PluginVersion> replaced; // the version it took over from, if any
};

// A version that was replaced but still has sessions (or is being unloaded).
struct DrainingVersion {
    std::string plugin;
    std::string plugin_version;
    uint64_t generation = 0;
    long users = 0; // owners other than the registry (sessions, bindings)
    std::chrono::steady_clock::time_point replaced_at;
};

struct RegistryStats {
    uint64_t loads_ok = 0;
    uint64_t loads_failed = 0;
    uint64_t unloads = 0;
    uint64_t unload_leaks = 0; // dlclose left the mapping in place (STB_GNU_UNIQUE, …)
    uint64_t stuck_calls = 0;  // plugin init/unload calls past plugins.call_timeout that have not returned
    std::string last_error;    // newest refusal, with file and reason
    std::chrono::system_clock::time_point last_error_at{};
};

class PluginRegistry {
public:
    // Lets the caller refuse a fully loaded candidate (e.g. a handler a bound
    // service needs is gone). Returns an error sentence, or nullopt to accept.
    using Vetter = std::function<std::optional<std::string>(const PluginVersion &candidate)>;

    // `api` is handed to every plugin's init and must outlive the registry.
    // Shadow copies live in a fresh private directory under `shadow_parent`.
    PluginRegistry(const portico_host_api *api, const std::filesystem::path &shadow_parent);
    // Drops every version and waits until each one is unloaded.
    ~PluginRegistry();
    PluginRegistry(const PluginRegistry &) = delete;
    PluginRegistry &operator=(const PluginRegistry &) = delete;

    // Loads `file` as a new version. On success it becomes current for its
    // plugin name (replacing the version loaded from the same file); on any
    // failure nothing changes and the outcome says why. Thread-safe.
    LoadOutcome load(const std::filesystem::path &file, const Vetter &vet = {});

    // How later loads check and run a plugin (plugins.strict, call_timeout,
    // the check process). Thread-safe; the stuck-call count carries over.
    void set_policy(bool strict, std::chrono::milliseconds call_timeout, std::filesystem::path check_program);
    // Plugin names later loads leave to the check process (LoadPolicy::described).
    void set_described(std::set<std::string> plugins);

    std::shared_ptr<PluginVersion> current(std::string_view plugin) const;
    std::vector<std::shared_ptr<PluginVersion>> current_all() const;
    std::vector<DrainingVersion> draining() const;
    RegistryStats stats() const;
    const std::filesystem::path &shadow_dir() const { return shadow_dir_; }

    // Blocks until no replaced version is left or `timeout` passes; true if none left.
    bool wait_drained(std::chrono::milliseconds timeout) const;

private:
    struct Replaced {
        std::weak_ptr<PluginVersion> version; // the registry no longer owns it
        DrainingVersion info;
    };

    LoadOutcome refuse(LoadOutcome outcome, std::string error);

    const portico_host_api *api_;
    std::filesystem::path shadow_dir_;
    std::shared_ptr<Unloader> unloader_;
    std::mutex load_mutex_;    // serialises load(); readers never wait on a dlopen
    mutable std::mutex mutex_; // guards everything below; held only briefly
    uint64_t next_generation_ = 1;
    std::map<std::string, std::shared_ptr<PluginVersion>, std::less<>> current_; // by plugin name
    std::map<std::filesystem::path, std::string> file_to_plugin_;
    std::vector<Replaced> replaced_; // pruned once unloaded
    RegistryStats stats_;
    LoadPolicy policy_;
    std::vector<PluginCaller> callers_; // every caller ever used: their stuck calls all count
};

// Removes `portico-<pid>-*` directories under `shadow_parent` whose process is
// gone (left behind by a crash). Returns how many it removed.
size_t remove_stale_shadow_dirs(const std::filesystem::path &shadow_parent);

} // namespace portico::host
