// RefusedFiles.h — what each refused plugin file (and its folder) looked
// like when it was refused, so a watcher-triggered reload retries it only
// once it changed (content, mode or owner) instead of refusing and logging
// it again at every change of some other file.
#pragma once

#include <sys/types.h>

#include <filesystem>
#include <map>
#include <optional>

namespace portico::host {

// The stat fields a fix would change. ctime moves on every write, chmod and
// chown; the rest say what changed for a reader of the code.
struct FileFingerprint {
    dev_t dev = 0;
    ino_t ino = 0;
    off_t size = 0;
    long long mtime_ns = 0;
    long long ctime_ns = 0;
    mode_t mode = 0;
    uid_t uid = 0;
    gid_t gid = 0;
    mode_t dir_mode = 0; // the folder's, whose permissions are checked too
    uid_t dir_uid = 0;
    gid_t dir_gid = 0; // (not its ctime: that moves whenever a file is added)
    bool operator==(const FileFingerprint &) const = default;
};

// nullopt when the file (or its folder) cannot be stat'ed.
std::optional<FileFingerprint> fingerprint_of(const std::filesystem::path &file);

// Not thread-safe: the host uses it under its control mutex.
class RefusedFiles {
public:
    // Remembers `file` as refused while it looked like `seen` (taken before
    // the load, so a change during the load still counts as a change).
    void remember(const std::filesystem::path &file, const std::optional<FileFingerprint> &seen);
    // True when `file` was refused and has not changed since.
    bool unchanged(const std::filesystem::path &file) const;
    void forget(const std::filesystem::path &file) { refused_.erase(file); }
    void clear() { refused_.clear(); }

private:
    std::map<std::filesystem::path, FileFingerprint> refused_;
};

} // namespace portico::host
