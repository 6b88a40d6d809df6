// SignalWaiter.cpp — sigtimedwait on the blocked set; sigpending to peek
// during start-up.
#include "app/SignalWaiter.h"

#include <cerrno>
#include <ctime>

#include <pthread.h>

namespace portico::host {

SignalWaiter::SignalWaiter() {
    sigemptyset(&set_);
    for (const int sig : {SIGINT, SIGTERM, SIGQUIT, SIGHUP, SIGUSR2})
        sigaddset(&set_, sig);
    pthread_sigmask(SIG_BLOCK, &set_, nullptr);
    std::signal(SIGPIPE, SIG_IGN);
}

std::optional<HostSignal> SignalWaiter::wait(std::chrono::milliseconds timeout) const {
    timespec ts{};
    ts.tv_sec = static_cast<time_t>(timeout.count() / 1000);
    ts.tv_nsec = static_cast<long>((timeout.count() % 1000) * 1'000'000);
    for (;;) {
        const int sig = sigtimedwait(&set_, nullptr, &ts);
        if (sig == SIGHUP) return HostSignal::reload;
        if (sig == SIGUSR2) return HostSignal::upgrade;
        if (sig > 0) return HostSignal::stop;
        if (errno == EINTR) continue;
        return std::nullopt; // EAGAIN: timed out
    }
}

bool SignalWaiter::stop_pending() const {
    sigset_t pending;
    sigemptyset(&pending);
    if (sigpending(&pending) != 0) return false;
    for (const int sig : {SIGINT, SIGTERM, SIGQUIT})
        if (sigismember(&pending, sig) == 1) return true;
    return false;
}

} // namespace portico::host
