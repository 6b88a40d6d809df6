// PluginWatcher.h — watches plugins.dir with inotify and calls back once
// plugin files have settled: closed after writing or renamed into place,
// then quiet and of stable size for a short while. A file still being
// written (only IN_MODIFY so far) is never reported, so a slow copy is not
// loaded half-written; the loader's ELF checks catch what is left.
#pragma once

#include <Poco/Logger.h>

#include <chrono>
#include <filesystem>
#include <functional>
#include <map>
#include <string>
#include <thread>

namespace portico::host {

class PluginWatcher {
public:
    using Callback = std::function<void()>;

    // Starts watching; throws std::runtime_error if the directory cannot be watched.
    PluginWatcher(std::filesystem::path dir, Callback on_change);
    ~PluginWatcher();
    PluginWatcher(const PluginWatcher &) = delete;
    PluginWatcher &operator=(const PluginWatcher &) = delete;

    const std::filesystem::path &dir() const { return dir_; }

private:
    struct Pending {
        bool closed = false; // IN_CLOSE_WRITE or IN_MOVED_TO seen
        std::chrono::steady_clock::time_point last_event;
        std::uintmax_t last_size = static_cast<std::uintmax_t>(-1);
    };

    void run();
    void read_events();
    // Returns true when some pending file is ready to load.
    bool take_settled();

    std::filesystem::path dir_;
    Callback on_change_;
    Poco::Logger &log_;
    int inotify_fd_ = -1;
    int stop_fd_ = -1;
    std::map<std::string, Pending> pending_; // only the watcher thread touches it
    std::thread thread_;
};

} // namespace portico::host
