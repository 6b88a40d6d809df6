// PorticoCommand.h — running `portico` once for an answer (--check,
// --version, --help): its exit status and everything it printed.
#pragma once

#include "harness/Deadline.h"
#include "harness/ExitStatus.h"

#include <string>
#include <vector>

namespace portico::test {

struct CommandResult {
    ExitStatus status;
    std::string output; // stdout and stderr interleaved
};

// Runs `portico ARGS…`; a run still going after `timeout` is killed and
// reported as ExitStatus::still_running() (what it printed is kept).
CommandResult run_portico(const std::vector<std::string> &args, Millis timeout = 10s);

} // namespace portico::test
