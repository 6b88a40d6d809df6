// Commands.h — the kv plugin's command layer: runs one parsed command against
// a Keyspace and appends Redis's reply (RESP2, Redis 7.0's formats and errors).
#pragma once

#include "Keyspace.h"

#include <string>
#include <string_view>
#include <vector>

namespace portico::kv {

using Args = std::vector<std::string_view>;

// What INFO reports about the server around the keyspace.
struct ServerInfo {
    std::string_view plugin_version;
    TimeMs started;
};

enum class After { keep_open, close };

// Runs `args` (args[0] is the command name, any case; at least one arg) and
// appends exactly one reply to `out`. The caller serialises calls per Keyspace.
After execute(Keyspace &keys, const ServerInfo &server, const Args &args, std::string &out, TimeMs now);

} // namespace portico::kv
