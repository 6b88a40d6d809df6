// Successor.cpp — fork/exec of the new binary with the sockets in place,
// and the ready pipe between the two processes.
#include "app/Successor.h"

#include <cerrno>
#include <cstdlib>
#include <cstring>
#include <system_error>

#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

extern char **environ;

namespace portico::host {
namespace {

constexpr int kFirstFd = 3; // SD_LISTEN_FDS_START

// Async-signal-safe: writes `value` in decimal at `out` (room for 20 digits).
void write_decimal(char *out, long value) {
    char digits[24];
    int n = 0;
    do {
        digits[n++] = static_cast<char>('0' + value % 10);
        value /= 10;
    } while (value > 0 && n < 20);
    while (n > 0)
        *out++ = digits[--n];
    *out = '\0';
}

std::string describe_status(int status) {
    if (WIFEXITED(status)) {
        const int code = WEXITSTATUS(status);
        if (code == 127) return "exited with status 127 (the binary could not be executed)";
        return "exited with status " + std::to_string(code);
    }
    if (WIFSIGNALED(status)) return std::string("was killed by signal ") + ::strsignal(WTERMSIG(status));
    return "ended with wait status " + std::to_string(status);
}

// Waits for `pid` for up to `grace`; then kills and reaps it. Returns its status text.
std::string reap(pid_t pid, std::chrono::milliseconds grace) {
    const auto deadline = std::chrono::steady_clock::now() + grace;
    int status = 0;
    for (;;) {
        const pid_t done = ::waitpid(pid, &status, WNOHANG);
        if (done == pid) return describe_status(status);
        if (done < 0 && errno != EINTR) return "could not be waited for";
        if (std::chrono::steady_clock::now() >= deadline) break;
        ::usleep(10'000);
    }
    ::kill(pid, SIGKILL);
    while (::waitpid(pid, &status, 0) < 0 && errno == EINTR) {
    }
    return "did not exit and was killed";
}

} // namespace

SuccessorOutcome start_successor(const std::filesystem::path &binary, const std::vector<std::string> &args,
                                 const std::vector<PassedSocket> &sockets, std::chrono::milliseconds timeout) {
    SuccessorOutcome outcome;
    const int count = static_cast<int>(sockets.size());
    const int ready_target = kFirstFd + count;
    const int scratch = ready_target + 1; // copies above every target: no dup2 overwrites a source

    int pipe_fds[2];
    if (::pipe2(pipe_fds, O_CLOEXEC) != 0) throw std::system_error(errno, std::generic_category(), "pipe2");
    std::vector<int> copies;
    const auto close_all = [&] {
        for (const int fd : copies)
            ::close(fd);
    };
    for (const PassedSocket &s : sockets) {
        const int copy = ::fcntl(s.fd, F_DUPFD_CLOEXEC, scratch);
        if (copy < 0) {
            const int error = errno;
            close_all();
            ::close(pipe_fds[0]);
            ::close(pipe_fds[1]);
            throw std::system_error(error, std::generic_category(), "cannot copy the socket of '" + s.name + "'");
        }
        copies.push_back(copy);
    }
    const int ready_copy = ::fcntl(pipe_fds[1], F_DUPFD_CLOEXEC, scratch);
    ::close(pipe_fds[1]);
    copies.push_back(ready_copy);

    // Everything exec needs is built before fork: after it, in a threaded
    // process, the child may only make async-signal-safe calls.
    std::vector<std::string> env;
    for (char **e = environ; *e != nullptr; ++e) {
        const std::string_view entry(*e);
        if (entry.starts_with("LISTEN_PID=") || entry.starts_with("LISTEN_FDS=") ||
            entry.starts_with("LISTEN_FDNAMES=") || entry.starts_with(std::string(kUpgradeReadyFdVariable) + "="))
            continue;
        env.emplace_back(entry);
    }
    std::string names;
    for (const PassedSocket &s : sockets)
        names += (names.empty() ? "" : ":") + s.name;
    env.push_back("LISTEN_FDS=" + std::to_string(count));
    env.push_back("LISTEN_FDNAMES=" + names);
    env.push_back(std::string(kUpgradeReadyFdVariable) + "=" + std::to_string(ready_target));
    env.push_back("LISTEN_PID=" + std::string(24, '\0'));
    char *const pid_digits = env.back().data() + std::strlen("LISTEN_PID=");
    std::vector<char *> envp;
    for (std::string &e : env)
        envp.push_back(e.data());
    envp.push_back(nullptr);
    std::vector<std::string> argv_storage = args;
    std::vector<char *> argv;
    for (std::string &a : argv_storage)
        argv.push_back(a.data());
    argv.push_back(nullptr);
    const std::string path = binary.string();

    const pid_t pid = ::fork();
    if (pid < 0) {
        const int error = errno;
        close_all();
        ::close(pipe_fds[0]);
        throw std::system_error(error, std::generic_category(), "fork");
    }
    if (pid == 0) {
        write_decimal(pid_digits, static_cast<long>(::getpid()));
        for (int i = 0; i < count; ++i)
            if (::dup2(copies[static_cast<std::size_t>(i)], kFirstFd + i) < 0) ::_exit(127);
        if (::dup2(ready_copy, ready_target) < 0) ::_exit(127);
        // Signals the old host blocks for its sigwait stay blocked: the new
        // one blocks the same set first thing, and a SIGTERM meanwhile waits.
        ::close_range(static_cast<unsigned>(ready_target + 1), ~0U, 0);
        ::execve(path.c_str(), argv.data(), envp.data());
        ::_exit(127);
    }
    close_all();
    outcome.pid = pid;

    std::string report;
    const auto deadline = std::chrono::steady_clock::now() + timeout;
    bool eof = false;
    while (!eof) {
        const auto left =
            std::chrono::duration_cast<std::chrono::milliseconds>(deadline - std::chrono::steady_clock::now());
        if (left.count() <= 0) break;
        pollfd p{pipe_fds[0], POLLIN, 0};
        const int rc = ::poll(&p, 1, static_cast<int>(left.count()));
        if (rc < 0 && errno == EINTR) continue;
        if (rc <= 0) break;
        char buffer[4096];
        const ssize_t n = ::read(pipe_fds[0], buffer, sizeof buffer);
        if (n < 0 && errno == EINTR) continue;
        if (n <= 0)
            eof = true;
        else
            report.append(buffer, static_cast<std::size_t>(n));
        if (report.starts_with("ready\n")) break;
    }
    ::close(pipe_fds[0]);
    if (report.starts_with("ready")) {
        outcome.ready = true;
        return outcome;
    }
    while (!report.empty() && (report.back() == '\n' || report.back() == '\r'))
        report.pop_back();
    const std::string own = report.starts_with("error: ") ? report.substr(7) : report;
    if (!eof) {
        outcome.error = path + " (pid " + std::to_string(pid) + ") did not report ready within " +
                        std::to_string(timeout.count() / 1000) + " s; " + reap(pid, std::chrono::milliseconds(0));
    } else {
        const std::string status = reap(pid, std::chrono::seconds(5));
        outcome.error = path + " (pid " + std::to_string(pid) + ") " + status + " before it was ready" +
                        (own.empty() ? "" : ": " + own);
    }
    return outcome;
}

bool started_by_upgrade() {
    const char *text = std::getenv(kUpgradeReadyFdVariable);
    if (text == nullptr) return false;
    const int fd = static_cast<int>(std::strtol(text, nullptr, 10));
    if (fd >= kFirstFd) ::fcntl(fd, F_SETFD, FD_CLOEXEC);
    return true;
}

void report_to_predecessor(const std::string &error) {
    const char *text = std::getenv(kUpgradeReadyFdVariable);
    if (text == nullptr) return;
    const int fd = static_cast<int>(std::strtol(text, nullptr, 10));
    ::unsetenv(kUpgradeReadyFdVariable);
    if (fd < kFirstFd || ::fcntl(fd, F_GETFD) < 0) return;
    const std::string message = error.empty() ? "ready\n" : "error: " + error + "\n";
    std::size_t written = 0;
    while (written < message.size()) {
        const ssize_t n = ::write(fd, message.data() + written, message.size() - written);
        if (n < 0 && errno == EINTR) continue;
        if (n <= 0) break;
        written += static_cast<std::size_t>(n);
    }
    ::close(fd);
}

} // namespace portico::host
