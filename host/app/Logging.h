// Logging.h — sets up Poco's root logger from the `logging:` config: level,
// and text or JSON-lines format, written to stderr.
#pragma once

#include "config/Config.h"

namespace portico::host {

// Before the config is read: text at information level.
void setup_default_logging();
// Throws std::invalid_argument for an unknown level name.
void setup_logging(const LoggingConfig &config);

} // namespace portico::host
