// Worker.h — `portico --worker NAME --config FILE --plugin SO`: one worker
// process of a `mode: process` service, started by ProcessService (see
// service/WorkerSpawn.h for what it inherits). Not for people to run.
#pragma once

#include <string_view>

namespace portico::host {

class SignalWaiter;

bool is_worker_command(std::string_view first_arg);
// Serves the inherited socket until SIGTERM, then lets its sessions finish
// and returns the exit code: 0 after a clean stop, 2 if it could not start.
int run_worker(int argc, char **argv, const SignalWaiter &signals);

} // namespace portico::host
