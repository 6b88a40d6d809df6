// PluginVersion.cpp — a loaded version owns its library; destroying it is the
// unload (the Unloader makes sure that happens on its own thread).
#include "plugin/PluginVersion.h"

#include "plugin/PluginLoader.h"

namespace portico::host {

PluginVersion::PluginVersion(std::unique_ptr<LoadedLibrary> library, std::string plugin_name,
                             std::string plugin_version, std::filesystem::path source_file, uint64_t generation,
                             std::string sha256, std::vector<HandlerEntry> handlers)
    : library_(std::move(library)), plugin_name_(std::move(plugin_name)), plugin_version_(std::move(plugin_version)),
      source_file_(std::move(source_file)), generation_(generation), sha256_(std::move(sha256)),
      loaded_at_(std::chrono::system_clock::now()), handlers_(std::move(handlers)) {
    // handlers_ never changes again, so these pointers stay valid for our life.
    for (auto &handler : handlers_)
        handler.desc.name = handler.name.c_str();
}

// The handlers' descriptors point into the library: forget them before it goes.
PluginVersion::~PluginVersion() {
    handlers_.clear();
    library_.reset();
}

const std::filesystem::path &PluginVersion::shadow_file() const {
    return library_->shadow_file();
}

const PluginCaller &PluginVersion::caller() const {
    return library_->caller();
}

bool PluginVersion::is_loaded() const {
    return library_->handle() != nullptr;
}

const HandlerEntry *PluginVersion::find_handler(std::string_view name) const {
    for (const auto &handler : handlers_)
        if (handler.name == name) return &handler;
    return nullptr;
}

} // namespace portico::host
