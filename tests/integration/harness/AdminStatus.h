// AdminStatus.h — reading the admin server's /status document (Json.h):
// one service's entry, with its mode and connection counters.
#pragma once

#include "harness/Json.h"

#include <string>

namespace portico::test {

// The entry of `status["services"]` named `name`; throws HarnessError when
// there is none.
const Json &service_named(const Json &status, const std::string &name);

} // namespace portico::test
