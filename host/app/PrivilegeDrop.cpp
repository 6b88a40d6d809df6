// PrivilegeDrop.cpp
#include "app/PrivilegeDrop.h"

#include <cerrno>
#include <cstring>
#include <stdexcept>

#include <grp.h>
#include <pwd.h>
#include <unistd.h>

namespace portico::host {
namespace {

std::string why() { return std::strerror(errno); }

} // namespace

std::string check_user_exists(const std::string &user) {
    if (user.empty() || ::getpwnam(user.c_str()) != nullptr) return {};
    return "user: no such user '" + user + "' on this machine";
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
