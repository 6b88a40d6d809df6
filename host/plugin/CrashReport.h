// CrashReport.h — a fatal signal (SIGSEGV, SIGBUS, SIGABRT, SIGFPE, SIGILL)
// in mode threads or events kills the host, as documented; before it does,
// stderr gets the signal, the plugin code that was running on that thread
// (RunningCode.h) and a backtrace, and the host then dies by that signal so
// a supervisor sees why and restarts it.
#pragma once

namespace portico::host {

// Installs the report for the process (once, early in main); the calling
// thread gets its alternate signal stack here, others when they first run
// plugin code.
void install_crash_report();

} // namespace portico::host
