// ConfigDiff.h — what a config reload changes: services matched by name and
// compared by meaning (positions in the file do not count).
#pragma once

#include "config/Config.h"

#include <string>
#include <vector>

namespace portico::host {

struct ConfigDiff {
    std::vector<std::string> added;     // in the new config only
    std::vector<std::string> removed;   // in the old config only
    std::vector<std::string> changed;   // in both, with some setting different
    std::vector<std::string> unchanged; // in both, identical
    bool plugins_changed = false;       // plugins.dir / load / watch / drain_timeout
    bool logging_changed = false;
    bool admin_changed = false;
};

ConfigDiff diff_configs(const Config &before, const Config &after);

// True when the two entries mean the same service (ignores file positions).
bool same_service(const ServiceConfig &a, const ServiceConfig &b);

} // namespace portico::host
