// ChildProcess.cpp — fork/exec with merged output captured by a thread.
#include "harness/ChildProcess.h"

#include "harness/HarnessError.h"

#include <cerrno>
#include <csignal>
#include <cstring>

#include <fcntl.h>
#include <poll.h>
#include <sys/prctl.h>
#include <sys/wait.h>
#include <unistd.h>

namespace portico::test {

namespace {

// Only async-signal-safe calls between fork and exec: the test process has
// threads, and any of them may hold a lock the child would then never get.
[[noreturn]] void exec_child(int out_fd, pid_t parent, const char *program, char *const argv[]) {
    sigset_t none;
    sigemptyset(&none);
    sigprocmask(SIG_SETMASK, &none, nullptr);
    // Dies with the test process, so a crashed test leaves no daemon behind.
    prctl(PR_SET_PDEATHSIG, SIGKILL);
    if (getppid() != parent) _exit(127);
    const int null_fd = open("/dev/null", O_RDONLY);
    if (null_fd >= 0) dup2(null_fd, STDIN_FILENO);
    dup2(out_fd, STDOUT_FILENO);
    dup2(out_fd, STDERR_FILENO);
    execv(program, argv);
    const char msg[] = "ChildProcess: exec failed: ";
    (void)!write(STDERR_FILENO, msg, sizeof msg - 1);
    const char *why = strerror(errno); // not formally async-signal-safe, but only reads a table
    (void)!write(STDERR_FILENO, why, strlen(why));
    (void)!write(STDERR_FILENO, "\n", 1);
    _exit(127);
}

} // namespace

ChildProcess::ChildProcess(const std::filesystem::path &program, const std::vector<std::string> &args) {
    std::vector<std::string> argv_strings;
    argv_strings.push_back(program.string());
    argv_strings.insert(argv_strings.end(), args.begin(), args.end());
    std::vector<char *> argv;
    for (auto &s : argv_strings) argv.push_back(s.data());
    argv.push_back(nullptr);

    int fds[2];
    if (pipe2(fds, O_CLOEXEC) != 0) throw HarnessError(std::string("ChildProcess: pipe2: ") + std::strerror(errno));
    const pid_t parent = getpid();
    pid_ = fork();
    if (pid_ < 0) {
        const int err = errno;
        close(fds[0]);
        close(fds[1]);
        throw HarnessError(std::string("ChildProcess: fork: ") + std::strerror(err));
    }
    if (pid_ == 0) exec_child(fds[1], parent, argv_strings[0].c_str(), argv.data());
    close(fds[1]);
    reader_ = std::thread([this, fd = fds[0]] { read_output(fd); });
}

ChildProcess::~ChildProcess() {
    kill();
    {
        // The child is gone; let the reader drain what is left in the pipe.
        std::lock_guard lock(mutex_);
        stop_reading_ = true;
    }
    if (reader_.joinable()) reader_.join();
}

void ChildProcess::read_output(int fd) {
    char buf[4096];
    for (;;) {
        pollfd p{fd, POLLIN, 0};
        const int ready = ::poll(&p, 1, 50);
        if (ready < 0 && errno == EINTR) continue;
        if (ready == 0) {
            // Nothing pending: stop only once asked to (a grandchild could
            // otherwise keep the pipe open forever).
            std::lock_guard lock(mutex_);
            if (stop_reading_) break;
            continue;
        }
        const ssize_t n = ::read(fd, buf, sizeof buf);
        if (n < 0 && errno == EINTR) continue;
        if (n <= 0) break;
        std::lock_guard lock(mutex_);
        output_.append(buf, static_cast<size_t>(n));
        changed_.notify_all();
    }
    ::close(fd);
    std::lock_guard lock(mutex_);
    output_closed_ = true;
    changed_.notify_all();
}

std::string ChildProcess::output() const {
    std::lock_guard lock(mutex_);
    return output_;
}

bool ChildProcess::wait_for_output(const std::function<bool(const std::string &)> &condition, Millis timeout) const {
    const Deadline deadline(timeout);
    std::unique_lock lock(mutex_);
    return changed_.wait_until(lock, deadline.time_point(), [&] { return condition(output_) || output_closed_; }) &&
           condition(output_);
}

bool ChildProcess::wait_output_closed(Millis timeout) const {
    std::unique_lock lock(mutex_);
    return changed_.wait_for(lock, timeout, [&] { return output_closed_; });
}

void ChildProcess::send_signal(int signal) const {
    if (::kill(pid_, signal) != 0)
        throw HarnessError("ChildProcess: kill(" + std::to_string(pid_) + ", " + std::to_string(signal) +
                           "): " + std::strerror(errno));
}

ExitStatus ChildProcess::poll_exit() {
    if (!status_.is_running()) return status_;
    int status = 0;
    const pid_t r = ::waitpid(pid_, &status, WNOHANG);
    if (r == pid_) status_ = ExitStatus::from_wait_status(status);
    return status_;
}

ExitStatus ChildProcess::wait_exit(Millis timeout) {
    // Once it has ended, also wait for the reader to reach the pipe's end, so
    // that output() is complete when the caller looks at it.
    if (wait_until([this] { return !poll_exit().is_running(); }, timeout, 2ms)) wait_output_closed(2s);
    return status_;
}

bool ChildProcess::running() { return poll_exit().is_running(); }

void ChildProcess::kill() {
    if (running()) {
        ::kill(pid_, SIGKILL);
        int status = 0;
        while (::waitpid(pid_, &status, 0) < 0 && errno == EINTR) {
        }
        status_ = ExitStatus::from_wait_status(status);
    }
    wait_output_closed(2s);
}

} // namespace portico::test
