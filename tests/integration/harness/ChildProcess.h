// ChildProcess.h — one program started with fork/exec, its stdout and stderr
// merged into one pipe that a reader thread collects, so a test can wait for
// output, send signals and wait for the exit without ever blocking forever.
// A child still running when the object dies is SIGKILLed and reaped.
#pragma once

#include "harness/Deadline.h"
#include "harness/ExitStatus.h"

#include <condition_variable>
#include <filesystem>
#include <functional>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

#include <sys/types.h>

namespace portico::test {

class ChildProcess {
  public:
    // Starts `program` with `args` (argv[1..]); stdin is /dev/null. Throws
    // HarnessError if fork fails; an exec failure shows as exit code 127 with
    // the reason in output().
    ChildProcess(const std::filesystem::path &program, const std::vector<std::string> &args);
    ~ChildProcess();
    ChildProcess(const ChildProcess &) = delete;
    ChildProcess &operator=(const ChildProcess &) = delete;

    pid_t pid() const { return pid_; }

    // Everything the child wrote so far (stdout and stderr interleaved).
    std::string output() const;
    // Waits until `condition(output())` holds. Returns false on timeout, or
    // as soon as the child closed its output without the condition holding.
    bool wait_for_output(const std::function<bool(const std::string &)> &condition, Millis timeout) const;
    // Waits until the child's end of the pipe is closed (it exited); true if so.
    bool wait_output_closed(Millis timeout) const;

    void send_signal(int signal) const;
    // The exit status, or ExitStatus::still_running() if the child has not
    // ended within `timeout`. After an exit, output() holds all it wrote.
    ExitStatus wait_exit(Millis timeout);
    bool running();
    // SIGKILL and reap (unless already ended), then collect the last output.
    void kill();

  private:
    void read_output(int fd);
    ExitStatus poll_exit(); // non-blocking waitpid

    pid_t pid_ = -1;
    ExitStatus status_;
    mutable std::mutex mutex_;
    mutable std::condition_variable changed_;
    std::string output_;
    bool output_closed_ = false;
    bool stop_reading_ = false;
    std::thread reader_;
};

} // namespace portico::test
