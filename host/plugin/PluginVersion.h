// PluginVersion.h — one loaded copy of a plugin file: its dlopen handle, its
// descriptor and the handlers it registered. Shared (shared_ptr) between the
// registry and every session that pinned it; unloaded when the last owner
// lets go, on the registry's unloader thread, never on a session's stack.
#pragma once

#include "plugin/PluginCall.h"
#include "portico/portico.h"

#include <chrono>
#include <cstdint>
#include <filesystem>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

namespace portico::host {

// A handler as registered, with its descriptor copied and size-normalised
// (fields an older plugin did not know are zero). Inside a PluginVersion,
// desc.name points at `name`.
struct HandlerEntry {
    std::string name;
    portico_handler_kind kind = PORTICO_HANDLER_STREAM;
    portico_handler_desc desc{};
};

class LoadedLibrary; // dlopen handle + shadow file, RAII; see PluginLoader.cpp

class PluginVersion {
public:
    PluginVersion(std::unique_ptr<LoadedLibrary> library, std::string plugin_name, std::string plugin_version,
                  std::filesystem::path source_file, uint64_t generation, std::string sha256,
                  std::vector<HandlerEntry> handlers);
    // Runs the plugin's unload hook, dlcloses, removes the shadow file.
    ~PluginVersion();
    PluginVersion(const PluginVersion &) = delete;
    PluginVersion &operator=(const PluginVersion &) = delete;

    const std::string &plugin_name() const { return plugin_name_; }
    const std::string &plugin_version() const { return plugin_version_; }
    const std::filesystem::path &source_file() const { return source_file_; }
    const std::filesystem::path &shadow_file() const;
    uint64_t generation() const { return generation_; }   // registry-wide load counter, from 1
    const std::string &sha256() const { return sha256_; } // of the file as loaded, hex
    std::chrono::system_clock::time_point loaded_at() const { return loaded_at_; }

    const std::vector<HandlerEntry> &handlers() const { return handlers_; }
    const HandlerEntry *find_handler(std::string_view name) const;
    // Runs this version's entry points under plugins.call_timeout; a call
    // given a shared_ptr to this version keeps it mapped while stuck.
    const PluginCaller &caller() const;
    // False for a version a check process described (mode process): its
    // handlers carry kind and traits but no code, and it must not be opened.
    bool is_loaded() const;

private:
    std::unique_ptr<LoadedLibrary> library_;
    std::string plugin_name_;
    std::string plugin_version_;
    std::filesystem::path source_file_;
    uint64_t generation_;
    std::string sha256_;
    std::chrono::system_clock::time_point loaded_at_;
    std::vector<HandlerEntry> handlers_;
};

} // namespace portico::host
