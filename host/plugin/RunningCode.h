// RunningCode.h — which plugin handler runs on this thread (in mode events:
// this fiber), written out by the crash report (CrashReport.h) when that
// code dies by a fatal signal. Prepared as text before the handler runs, so
// the signal handler only has to write(2) it.
#pragma once

#include <cstddef>
#include <string_view>

namespace portico::host {

struct RunningCode {
    char text[480];
    std::size_t length = 0;
};

// The running code of this thread (fiber), or nullptr when only the host runs.
const RunningCode *running_code();
// Installs `code` as this thread's running code, returning the one it
// replaces; a fiber switch swaps them (Fiber::resume).
const RunningCode *exchange_running_code(const RunningCode *code);

// For the life of a handler call: this thread runs the handler described
// (service, plugin, version, handler, peer), and has an alternate signal
// stack so even a stack overflow there is reported.
class RunningCodeScope {
public:
    RunningCodeScope(std::string_view service, std::string_view plugin, std::string_view version,
                     unsigned long long generation, std::string_view handler, std::string_view peer);
    ~RunningCodeScope();
    RunningCodeScope(const RunningCodeScope &) = delete;
    RunningCodeScope &operator=(const RunningCodeScope &) = delete;

private:
    RunningCode code_;
    const RunningCode *previous_;
};

// Gives the calling thread an alternate signal stack (once; freed when the
// thread ends), on which the crash report runs when the thread's own stack
// is exhausted.
void ensure_signal_stack();

} // namespace portico::host
