// Unloader.cpp — one thread, one queue; destruction happens outside the lock
// because a plugin's unload hook may take its time.
#include "plugin/Unloader.h"

#include "plugin/MappingCheck.h"

#include <Poco/Logger.h>

#include <pthread.h>

#include <filesystem>
#include <string>

namespace portico::host {

Unloader::Unloader() : thread_([this] { run(); }) {}

Unloader::~Unloader() {
    stop();
}

void Unloader::track(uint64_t generation) {
    std::lock_guard lock(mutex_);
    live_.insert(generation);
}

void Unloader::post(PluginVersion *version) noexcept {
    std::unique_ptr<PluginVersion> owned(version);
    if (!owned) return;
    {
        std::lock_guard lock(mutex_);
        if (!stopping_) {
            try {
                queue_.push_back(std::move(owned));
                changed_.notify_all();
                return;
            } catch (...) {
                // No memory for the queue: unload here, late is worse than now.
            }
        }
    }
    destroy(std::move(owned));
}

void Unloader::run() {
    pthread_setname_np(pthread_self(), "portico-unload");
    std::unique_lock lock(mutex_);
    for (;;) {
        changed_.wait(lock, [&] { return stopping_ || !queue_.empty(); });
        if (queue_.empty()) return; // stopping and drained
        auto version = std::move(queue_.front());
        queue_.pop_front();
        busy_ = true;
        lock.unlock();
        destroy(std::move(version));
        lock.lock();
        busy_ = false;
        changed_.notify_all();
    }
}

void Unloader::destroy(std::unique_ptr<PluginVersion> version) noexcept {
    const uint64_t generation = version->generation();
    bool leaked = false;
    try {
        const std::filesystem::path shadow = version->shadow_file();
        const std::string plugin = version->plugin_name();
        const std::string source = version->source_file().string();
        version.reset(); // unload hook, dlclose, shadow file removed
        leaked = is_mapped(shadow);
        auto &log = Poco::Logger::get("portico.plugins");
        if (leaked) {
            log.warning("plugin '" + plugin + "' generation " + std::to_string(generation) + " from " + source +
                        " is still mapped after dlclose (" + shadow.string() +
                        "): it cannot be unloaded, and every reload of it leaks its memory. Likely cause: "
                        "STB_GNU_UNIQUE symbols (template or inline-function statics); build the plugin with "
                        "-fno-gnu-unique, as the SDK's portico_add_plugin does, and avoid thread_local objects "
                        "with destructors");
        } else {
            log.information("unloaded plugin '" + plugin + "' generation " + std::to_string(generation) + " from " +
                            source + " (an older version, no longer in use)");
        }
    } catch (...) {
        version.reset(); // logging failed; the unload itself must still happen
    }
    std::lock_guard lock(mutex_);
    ++unloads_;
    if (leaked) ++leaks_;
    if (auto it = live_.find(generation); it != live_.end()) live_.erase(it);
    changed_.notify_all();
}

bool Unloader::is_live(uint64_t generation) const {
    std::lock_guard lock(mutex_);
    return live_.contains(generation);
}

bool Unloader::wait_gone(const std::vector<uint64_t> &generations,
                         std::chrono::steady_clock::time_point deadline) const {
    std::unique_lock lock(mutex_);
    return changed_.wait_until(lock, deadline, [&] {
        for (const auto generation : generations)
            if (live_.contains(generation)) return false;
        return true;
    });
}

void Unloader::wait_idle() const {
    std::unique_lock lock(mutex_);
    changed_.wait(lock, [&] { return queue_.empty() && !busy_; });
}

void Unloader::stop() {
    {
        std::lock_guard lock(mutex_);
        stopping_ = true;
        changed_.notify_all();
    }
    if (!thread_.joinable()) return;
    if (thread_.get_id() == std::this_thread::get_id())
        thread_.detach(); // only if an unload hook dropped the last owner; the loop ends by itself
    else
        thread_.join();
}

uint64_t Unloader::unloads() const {
    std::lock_guard lock(mutex_);
    return unloads_;
}

uint64_t Unloader::leaks() const {
    std::lock_guard lock(mutex_);
    return leaks_;
}

} // namespace portico::host
