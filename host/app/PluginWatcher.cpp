// PluginWatcher.cpp
#include "app/PluginWatcher.h"

#include <cerrno>
#include <cstring>
#include <stdexcept>
#include <system_error>

#include <poll.h>
#include <sys/eventfd.h>
#include <sys/inotify.h>
#include <unistd.h>

namespace portico::host {
namespace {
// How long a closed file must stay quiet (and keep its size) before loading.
constexpr auto settle_time = std::chrono::milliseconds(60);
constexpr int tick_ms = 30;
} // namespace

PluginWatcher::PluginWatcher(std::filesystem::path dir, Callback on_change)
    : dir_(std::move(dir)), on_change_(std::move(on_change)), log_(Poco::Logger::get("portico.watcher")) {
    inotify_fd_ = inotify_init1(IN_NONBLOCK | IN_CLOEXEC);
    stop_fd_ = eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC);
    if (inotify_fd_ < 0 || stop_fd_ < 0) {
        const std::string why = std::strerror(errno);
        if (inotify_fd_ >= 0) ::close(inotify_fd_);
        if (stop_fd_ >= 0) ::close(stop_fd_);
        throw std::runtime_error("cannot watch " + dir_.string() + ": " + why);
    }
    // IN_ATTRIB: a chmod or chown may fix a refused file (or the folder itself).
    const uint32_t mask = IN_CLOSE_WRITE | IN_MOVED_TO | IN_MODIFY | IN_CREATE | IN_DELETE | IN_MOVED_FROM | IN_ATTRIB;
    if (inotify_add_watch(inotify_fd_, dir_.c_str(), mask) < 0) {
        const std::string why = std::strerror(errno);
        ::close(inotify_fd_);
        ::close(stop_fd_);
        throw std::runtime_error("cannot watch plugins.dir " + dir_.string() + ": " + why);
    }
    thread_ = std::thread([this] { run(); });
    log_.information("watching %s for plugin changes", dir_.string());
}

PluginWatcher::~PluginWatcher() {
    const uint64_t one = 1;
    [[maybe_unused]] const ssize_t n = ::write(stop_fd_, &one, sizeof one);
    if (thread_.joinable()) thread_.join();
    ::close(inotify_fd_);
    ::close(stop_fd_);
}

void PluginWatcher::run() {
    for (;;) {
        pollfd fds[2] = {{inotify_fd_, POLLIN, 0}, {stop_fd_, POLLIN, 0}};
        const int rc = ::poll(fds, 2, pending_.empty() ? -1 : tick_ms);
        if (rc < 0 && errno != EINTR) {
            log_.error("plugin watcher stopped: poll failed: %s", std::string(std::strerror(errno)));
            return;
        }
        if (fds[1].revents & POLLIN) return;
        if (fds[0].revents & POLLIN) read_events();
        if (!take_settled()) continue;
        try {
            on_change_();
        } catch (const std::exception &e) {
            log_.error("plugin reload after a file change failed: %s", std::string(e.what()));
        }
    }
}

void PluginWatcher::read_events() {
    alignas(inotify_event) char buf[16 * 1024];
    for (;;) {
        const ssize_t len = ::read(inotify_fd_, buf, sizeof buf);
        if (len <= 0) return; // EAGAIN: drained
        for (ssize_t off = 0; off < len;) {
            const auto *ev = reinterpret_cast<const inotify_event *>(buf + off);
            off += static_cast<ssize_t>(sizeof(inotify_event) + ev->len);
            if (ev->mask & IN_Q_OVERFLOW) {
                // Events were lost: treat every file as touched; the reload compares hashes.
                pending_["*"] = Pending{true, std::chrono::steady_clock::now()};
                continue;
            }
            if (ev->len == 0) {
                // The folder's own mode or owner changed: every file may load now.
                if (ev->mask & IN_ATTRIB) pending_["*"] = Pending{true, std::chrono::steady_clock::now()};
                continue;
            }
            const std::string name = ev->name;
            if (!name.ends_with(".so")) continue;
            if (ev->mask & (IN_DELETE | IN_MOVED_FROM)) {
                // The loaded version keeps serving from its private copy.
                pending_.erase(name);
                continue;
            }
            Pending &p = pending_[name];
            p.last_event = std::chrono::steady_clock::now();
            // A chmod/chown is complete when reported (unless a write is still open: then its close follows).
            if (ev->mask & (IN_CLOSE_WRITE | IN_MOVED_TO | IN_ATTRIB)) p.closed = true;
            if (ev->mask & IN_MOVED_TO) {
                // A file renamed into place was complete before the rename:
                // its size now is final, so one quiet period is enough.
                std::error_code ec;
                p.last_size = std::filesystem::file_size(dir_ / name, ec);
                if (ec) p.last_size = static_cast<std::uintmax_t>(-1);
            }
        }
    }
}

bool PluginWatcher::take_settled() {
    const auto now = std::chrono::steady_clock::now();
    bool ready = false;
    for (auto it = pending_.begin(); it != pending_.end();) {
        Pending &p = it->second;
        if (!p.closed || now - p.last_event < settle_time) {
            ++it;
            continue;
        }
        std::error_code ec;
        const std::uintmax_t size = it->first == "*" ? 0 : std::filesystem::file_size(dir_ / it->first, ec);
        if (ec) { // gone again
            it = pending_.erase(it);
            continue;
        }
        if (size != p.last_size) { // still changing: look again next tick
            p.last_size = size;
            p.last_event = now;
            ++it;
            continue;
        }
        ready = true;
        it = pending_.erase(it);
    }
    return ready;
}

} // namespace portico::host
