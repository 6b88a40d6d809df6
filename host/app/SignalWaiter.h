// SignalWaiter.h — the host's signals, taken synchronously: blocked in every
// thread (the mask is set before any thread starts) and received with
// sigwait on the main thread, so no handler runs at an odd moment.
#pragma once

#include <chrono>
#include <csignal>
#include <optional>

namespace portico::host {

enum class HostSignal { stop, reload, upgrade };

class SignalWaiter {
public:
    // Blocks SIGINT, SIGTERM, SIGQUIT, SIGHUP and SIGUSR2 in this thread and every
    // thread started after it; ignores SIGPIPE. Call first thing in main().
    SignalWaiter();
    // Waits for the next signal, or returns nullopt after `timeout`.
    std::optional<HostSignal> wait(std::chrono::milliseconds timeout) const;
    // Whether SIGINT, SIGTERM or SIGQUIT is pending, without taking it: the
    // start-up steps ask between themselves, before wait() runs.
    bool stop_pending() const;

private:
    sigset_t set_;
};

} // namespace portico::host
