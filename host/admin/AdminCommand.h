// AdminCommand.h — `portico status` and `portico reload`: read admin.listen
// and the token from the config, talk HTTP to the running host, print what
// it says.
#pragma once

#include <iosfwd>
#include <string>
#include <vector>

namespace portico::host {

// Whether argv[1] names an admin subcommand ("status", "reload", "upgrade").
bool is_admin_command(const std::string &word);

// `args` are argv[1..] ("status", "--config", "x.yaml", …). Returns the exit
// status: 0 ok, 1 the host refused or could not be reached, 2 bad usage or config.
int run_admin_command(const std::vector<std::string> &args, std::ostream &out, std::ostream &err);

} // namespace portico::host
