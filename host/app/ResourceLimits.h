// ResourceLimits.h — the process limits that cap how many connections the
// host can hold, checked against what the config asks for: the open-files
// limit (raised to its hard maximum at start, since the usual soft 1024
// would refuse connection 1000 long before max_connections), and for mode
// events the kernel's cap on memory mappings (two per fiber stack, on a
// kernel without guard markers: see StackPool).
#pragma once

#include "config/Config.h"

#include <Poco/Logger.h>

namespace portico::host {

// Raises RLIMIT_NOFILE's soft limit to its hard limit; logs what it did.
void raise_open_files_limit(Poco::Logger &log);
// Warns (one line each) when the services' max_connections could not all
// be open at once under the open-files limit or vm.max_map_count.
void warn_about_connection_limits(const Config &config, Poco::Logger &log);

} // namespace portico::host
