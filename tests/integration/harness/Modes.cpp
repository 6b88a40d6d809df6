// Modes.cpp — the service keys of each mode, in one place for ServiceSpec
// and for AdminHostSpec's YAML lines.
#include "harness/Modes.h"

#include "harness/HarnessError.h"

namespace portico::test {
namespace {

void require_known(const std::string &mode) {
    if (mode != "threads" && mode != "events") throw HarnessError("no mode '" + mode + "': threads or events");
}

} // namespace

ServiceSpec &in_mode(ServiceSpec &service, const std::string &mode) {
    require_known(mode);
    return mode == "events" ? service.events(1) : service.option("mode", "threads");
}

std::string mode_keys(const std::string &mode) {
    require_known(mode);
    return mode == "events" ? "    mode: events\n    events: {loops: 1}\n" : "    mode: threads\n";
}

} // namespace portico::test
