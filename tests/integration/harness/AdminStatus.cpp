// AdminStatus.cpp — services are listed in config order; tests look them up
// by name.
#include "harness/AdminStatus.h"

#include "harness/HarnessError.h"

namespace portico::test {

const Json &service_named(const Json &status, const std::string &name) {
    for (const Json &s : status["services"].array())
        if (s["name"].string() == name) return s;
    throw HarnessError("no service '" + name + "' in /status");
}

} // namespace portico::test
