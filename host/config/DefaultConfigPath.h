// DefaultConfigPath.h — the config file every portico command reads when it
// is given no --config: $PORTICO_CONFIG, else the one installed with it.
#pragma once

#include <string>

namespace portico::host {

struct DefaultConfig {
    std::string path;
    // Where `path` came from, for an error about it: "$PORTICO_CONFIG" or
    // "the installed default".
    std::string source;
};

// $PORTICO_CONFIG when set and not empty, else installed_config_path().
DefaultConfig default_config();

// <sysconfdir>/portico/portico.yaml of the install prefix the build was
// configured with (/etc/portico/portico.yaml for /usr).
std::string installed_config_path();

// The sentence to print after failing to read the default config: where
// it came from and how to name another file.
std::string default_config_hint(const DefaultConfig &config);

} // namespace portico::host
