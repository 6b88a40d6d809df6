// DefaultConfigPath.cpp — $PORTICO_CONFIG, else the path compiled in from
// the install prefix (PORTICO_INSTALLED_CONFIG, set by host/CMakeLists.txt).
#include "config/DefaultConfigPath.h"

#include <cstdlib>

namespace portico::host {

std::string installed_config_path() {
    return PORTICO_INSTALLED_CONFIG;
}

DefaultConfig default_config() {
    if (const char *env = std::getenv("PORTICO_CONFIG"); env && *env) return {env, "$PORTICO_CONFIG"};
    return {installed_config_path(), "the installed default"};
}

std::string default_config_hint(const DefaultConfig &config) {
    // A checkout's binary has no installed config: say how to run it there too.
    return "no --config was given, so portico read " + config.source + " (" + config.path +
           "); pass --config FILE or set PORTICO_CONFIG=FILE (in a checkout, `make run` uses config/portico.yaml)";
}

} // namespace portico::host
