// PrivilegeDrop.h — `user:` in the config: once every listener is bound (so
// ports below 1024 work), the host gives up root for good.
#pragma once

#include <filesystem>
#include <string>

namespace portico::host {

// Empty when `user` exists, else a sentence saying it does not.
std::string check_user_exists(const std::string &user);

// Empty when `user` will be able to read `file` (and search each folder
// above it), judged by owner, group and mode bits; else why not, naming the
// file or folder in the way ("… is owned by root with mode 0600").
std::string unreadable_by(const std::string &user, const std::filesystem::path &file);

// Switches the process to `user` (its primary group and supplementary
// groups), after handing it `owned_dir` (the plugin shadow folder, which
// reloads write to). Throws std::runtime_error when any step fails, or
// when root could be regained afterwards.
void drop_privileges(const std::string &user, const std::filesystem::path &owned_dir);

} // namespace portico::host
