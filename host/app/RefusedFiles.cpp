// RefusedFiles.cpp — a file that cannot be stat'ed is never "unchanged": it
// is retried (and refused with the reason) rather than silently skipped.
#include "app/RefusedFiles.h"

#include <sys/stat.h>

namespace portico::host {
namespace {

long long nanoseconds(const timespec &t) {
    return static_cast<long long>(t.tv_sec) * 1'000'000'000LL + t.tv_nsec;
}

} // namespace

std::optional<FileFingerprint> fingerprint_of(const std::filesystem::path &file) {
    struct stat st {};
    struct stat dir {};
    if (::stat(file.c_str(), &st) != 0) return std::nullopt;
    const std::filesystem::path folder = file.has_parent_path() ? file.parent_path() : std::filesystem::path(".");
    if (::stat(folder.c_str(), &dir) != 0) return std::nullopt;
    return FileFingerprint{st.st_dev,
                           st.st_ino,
                           st.st_size,
                           nanoseconds(st.st_mtim),
                           nanoseconds(st.st_ctim),
                           st.st_mode,
                           st.st_uid,
                           st.st_gid,
                           dir.st_mode,
                           dir.st_uid,
                           dir.st_gid};
}

void RefusedFiles::remember(const std::filesystem::path &file, const std::optional<FileFingerprint> &seen) {
    if (seen)
        refused_[file] = *seen;
    else
        refused_.erase(file);
}

bool RefusedFiles::unchanged(const std::filesystem::path &file) const {
    const auto it = refused_.find(file);
    if (it == refused_.end()) return false;
    const auto now = fingerprint_of(file);
    return now && *now == it->second;
}

} // namespace portico::host
