// PrivilegeDrop.cpp — giving up root after binding, and predicting what the
// unprivileged user will still be able to read.
#include "app/PrivilegeDrop.h"

#include <algorithm>
#include <cerrno>
#include <cstdio>
#include <cstring>
#include <stdexcept>
#include <vector>

#include <grp.h>
#include <pwd.h>
#include <sys/stat.h>
#include <unistd.h>

namespace portico::host {
namespace {

std::string why() {
    return std::strerror(errno);
}

std::string octal_mode(mode_t mode) {
    char text[8];
    std::snprintf(text, sizeof text, "%04o", static_cast<unsigned>(mode & 07777));
    return text;
}

std::string owner_name(uid_t uid) {
    const passwd *pw = ::getpwuid(uid);
    return pw != nullptr ? pw->pw_name : std::to_string(uid);
}

// The permission bits that apply to uid/groups: owner's, group's or others'.
bool permits(const struct stat &st, uid_t uid, const std::vector<gid_t> &groups, mode_t owner_bit) {
    if (uid == 0) return true;
    if (st.st_uid == uid) return (st.st_mode & owner_bit) != 0;
    if (std::find(groups.begin(), groups.end(), st.st_gid) != groups.end()) return (st.st_mode & (owner_bit >> 3)) != 0;
    return (st.st_mode & (owner_bit >> 6)) != 0;
}

} // namespace

std::string check_user_exists(const std::string &user) {
    if (user.empty() || ::getpwnam(user.c_str()) != nullptr) return {};
    return "user: no such user '" + user + "' on this machine";
}

std::string unreadable_by(const std::string &user, const std::filesystem::path &file) {
    const passwd *pw = ::getpwnam(user.c_str());
    if (pw == nullptr) return {}; // check_user_exists reports it
    const uid_t uid = pw->pw_uid;
    std::vector<gid_t> groups(64);
    int count = static_cast<int>(groups.size());
    if (::getgrouplist(user.c_str(), pw->pw_gid, groups.data(), &count) < 0) {
        groups.resize(static_cast<std::size_t>(count));
        ::getgrouplist(user.c_str(), pw->pw_gid, groups.data(), &count);
    }
    groups.resize(static_cast<std::size_t>(std::max(count, 0)));
    const std::filesystem::path absolute = std::filesystem::absolute(file).lexically_normal();
    for (std::filesystem::path dir = absolute.parent_path();; dir = dir.parent_path()) {
        struct stat st {};
        if (::stat(dir.c_str(), &st) == 0 && !permits(st, uid, groups, S_IXUSR))
            return "folder " + dir.string() + " is owned by " + owner_name(st.st_uid) + " with mode " +
                   octal_mode(st.st_mode) + ", which '" + user + "' cannot enter";
        if (dir == dir.root_path() || dir.empty()) break;
    }
    struct stat st {};
    if (::stat(absolute.c_str(), &st) != 0) return {}; // a missing file is reported where it is read
    if (permits(st, uid, groups, S_IRUSR)) return {};
    return absolute.string() + " is owned by " + owner_name(st.st_uid) + " with mode " + octal_mode(st.st_mode) +
           ", which '" + user + "' cannot read";
}

void drop_privileges(const std::string &user, const std::filesystem::path &owned_dir) {
    const passwd *pw = ::getpwnam(user.c_str());
    if (pw == nullptr) throw std::runtime_error("user: no such user '" + user + "'");
    const uid_t uid = pw->pw_uid;
    const gid_t gid = pw->pw_gid;
    if (::geteuid() != 0) {
        if (::geteuid() == uid) return; // already that user: nothing to drop
        throw std::runtime_error("user: '" + user + "' needs the host to start as root (it runs as uid " +
                                 std::to_string(::geteuid()) + ")");
    }
    if (::chown(owned_dir.c_str(), uid, gid) != 0)
        throw std::runtime_error("user: cannot hand " + owned_dir.string() + " to '" + user + "': " + why());
    if (::initgroups(user.c_str(), gid) != 0) throw std::runtime_error("user: initgroups failed: " + why());
    if (::setgid(gid) != 0) throw std::runtime_error("user: setgid(" + std::to_string(gid) + ") failed: " + why());
    if (::setuid(uid) != 0) throw std::runtime_error("user: setuid(" + std::to_string(uid) + ") failed: " + why());
    if (uid != 0 && ::setuid(0) == 0) throw std::runtime_error("user: root could be regained after dropping it");
}

} // namespace portico::host
