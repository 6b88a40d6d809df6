// CrashReport.cpp — the fatal-signal handler: async-signal-safe writes only
// (the text was prepared before the crash), then death by the same signal.
#include "plugin/CrashReport.h"

#include "plugin/RunningCode.h"

#include <cerrno>
#include <cstring>

#include <execinfo.h>
#include <signal.h>
#include <unistd.h>

namespace portico::host {
namespace {

constexpr int kFatalSignals[] = {SIGSEGV, SIGBUS, SIGABRT, SIGFPE, SIGILL};

const char *signal_name(int signal) {
    switch (signal) {
    case SIGSEGV:
        return "SIGSEGV (invalid memory access)";
    case SIGBUS:
        return "SIGBUS (bus error)";
    case SIGABRT:
        return "SIGABRT (abort)";
    case SIGFPE:
        return "SIGFPE (arithmetic error)";
    case SIGILL:
        return "SIGILL (illegal instruction)";
    default:
        return "fatal signal";
    }
}

void say(const char *text, std::size_t length) {
    while (length > 0) {
        const ssize_t n = ::write(STDERR_FILENO, text, length);
        if (n <= 0) return; // nothing else to do about it in a dying process
        text += n;
        length -= static_cast<std::size_t>(n);
    }
}

void say(const char *text) {
    say(text, std::strlen(text));
}

void on_fatal_signal(int signal, siginfo_t *, void *) {
    const int saved_errno = errno;
    say("portico: fatal signal ");
    say(signal_name(signal));
    if (const RunningCode *code = running_code()) {
        say(" in plugin code: ");
        say(code->text, code->length);
    } else {
        say(" outside plugin code");
    }
    say("; backtrace:\n");
    void *frames[64];
    backtrace_symbols_fd(frames, backtrace(frames, 64), STDERR_FILENO);
    say("portico: exiting by that signal\n");
    // Default action, delivered when this handler returns (the signal is
    // blocked until then): a faulting instruction faults again, abort()
    // raises again; either way the process dies by `signal`.
    struct sigaction fallback {};
    fallback.sa_handler = SIG_DFL;
    ::sigemptyset(&fallback.sa_mask);
    ::sigaction(signal, &fallback, nullptr);
    ::raise(signal);
    errno = saved_errno;
}

} // namespace

void install_crash_report() {
    // backtrace() loads libgcc's unwinder on first use (dlopen, malloc):
    // done now, so the signal handler never has to.
    void *warm[4];
    backtrace(warm, 4);
    ensure_signal_stack();
    struct sigaction action {};
    action.sa_sigaction = &on_fatal_signal;
    action.sa_flags = SA_SIGINFO | SA_ONSTACK;
    ::sigemptyset(&action.sa_mask);
    for (const int signal : kFatalSignals)
        ::sigaction(signal, &action, nullptr);
}

} // namespace portico::host
